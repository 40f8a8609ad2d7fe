/**
 * The audit log (`audit?actor=&action=&outcome=&task_id=`): who did what to which tasks, and what was
 * refused. Filters in the URL, keyset "Load more", newest first; and the recent bulk jobs.
 */
import { useMemo, useState, type FormEvent } from 'react';
import { useAudit } from '../api/queries';
import { Empty, ErrorMessage, Loading } from '../components/feedback';
import { Panel } from '../components/panel';
import {
  AUDIT_ACTIONS,
  AUDIT_OUTCOMES,
  auditApiFilters,
  auditSearch,
  emptyAuditFilters,
  hasAuditFilters,
  parseAuditSearch,
  type AuditFilters,
} from '../lib/audit';
import { paths } from '../lib/routes';
import { navigate, useLocation } from '../router';
import { AuditTable } from './triage/audit-table';
import { BulkJobsTable } from './triage/bulk-jobs-table';
import { useTitle } from './use-title';

function go(filters: AuditFilters) {
  navigate(paths.audit(auditSearch(filters)));
}

function AuditFilterForm({ filters }: { filters: AuditFilters }) {
  const [draft, setDraft] = useState(filters);
  const [synced, setSynced] = useState(filters);
  // Back/forward or a link changed the URL: the form shows what the URL says.
  if (synced !== filters) {
    setSynced(filters);
    setDraft(filters);
  }
  const actions: string[] = [...AUDIT_ACTIONS];
  if (draft.action && !actions.includes(draft.action)) actions.push(draft.action);
  const apply = (event: FormEvent) => {
    event.preventDefault();
    go(draft);
  };
  return (
    <form className="filters filters__form" onSubmit={apply} aria-label="Filter the audit log">
      <label className="field">
        <span className="field__label">Actor</span>
        <input
          className="input"
          value={draft.actor}
          onChange={(e) => setDraft({ ...draft, actor: e.target.value })}
          spellCheck={false}
        />
      </label>
      <label className="field">
        <span className="field__label">Action</span>
        <select
          className="input"
          value={draft.action}
          onChange={(e) => setDraft({ ...draft, action: e.target.value })}
        >
          <option value="">any</option>
          {actions.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span className="field__label">Outcome</span>
        <select
          className="input"
          value={draft.outcome}
          onChange={(e) => setDraft({ ...draft, outcome: e.target.value })}
        >
          <option value="">any</option>
          {AUDIT_OUTCOMES.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
          {draft.outcome && !(AUDIT_OUTCOMES as readonly string[]).includes(draft.outcome) && (
            <option value={draft.outcome}>{draft.outcome}</option>
          )}
        </select>
      </label>
      <label className="field">
        <span className="field__label">Task id</span>
        <input
          className="input mono"
          value={draft.task_id}
          onChange={(e) => setDraft({ ...draft, task_id: e.target.value })}
          spellCheck={false}
        />
      </label>
      <div className="filters__buttons">
        <button type="submit" className="btn btn--primary">
          Apply
        </button>
        <button
          type="button"
          className="btn"
          disabled={!hasAuditFilters(filters)}
          onClick={() => go(emptyAuditFilters())}
        >
          Clear all
        </button>
      </div>
    </form>
  );
}

export function AuditPage() {
  useTitle('Audit log');
  const { search } = useLocation();
  const filters = useMemo(() => parseAuditSearch(search), [search]);
  const canonical = auditSearch(filters);
  const query = useMemo(() => auditApiFilters(filters), [filters]);
  const audit = useAudit(canonical, query);
  const entries = useMemo(() => audit.data?.pages.flatMap((p) => p.entries) ?? [], [audit.data]);

  return (
    <div className="page">
      <div className="page__head">
        <h1 className="page__title">Audit log</h1>
        <span className="muted">operator actions, newest first</span>
      </div>
      <AuditFilterForm filters={filters} />
      <Panel title="Entries" id="audit">
        {audit.isPending ? (
          <Loading what="Loading the audit log" />
        ) : audit.error && !audit.data ? (
          <ErrorMessage error={audit.error} retry={() => void audit.refetch()} />
        ) : entries.length === 0 ? (
          <Empty>
            {hasAuditFilters(filters) ? 'No entry matches these filters.' : 'No operator action yet.'}
          </Empty>
        ) : (
          <>
            <AuditTable
              entries={entries}
              caption="Audit entries, newest first"
              stale={audit.isPlaceholderData}
            />
            {audit.error ? <ErrorMessage error={audit.error} /> : null}
            <nav className="pager" aria-label="More entries">
              <button
                type="button"
                className="btn"
                disabled={!audit.hasNextPage || audit.isFetchingNextPage}
                onClick={() => void audit.fetchNextPage()}
              >
                {audit.isFetchingNextPage ? 'Loading…' : 'Load more'}
              </button>
              <span className="muted">
                {entries.length} {entries.length === 1 ? 'entry' : 'entries'}
                {audit.hasNextPage ? '' : ' · the end of the log'}
              </span>
            </nav>
          </>
        )}
      </Panel>
      <Panel title="Recent bulk jobs" id="bulk-jobs">
        <BulkJobsTable />
      </Panel>
    </div>
  );
}
