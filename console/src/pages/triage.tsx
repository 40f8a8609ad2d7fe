/**
 * Triage: what is failing, ranked by money at risk. Failures are grouped by template, step, error type and
 * normalised message (GET /analytics/failure-groups); each group opens on its tasks and bulk actions.
 * Window and namespace/name filters are in the URL; the list refetches at most every 2 s while task events
 * arrive (live-provider.tsx).
 */
import { useId, useMemo, useState, type FormEvent } from 'react';
import { useFailureGroups, useHandlers } from '../api/queries';
import type { FailureGroup } from '../api/types';
import { useAuth } from '../auth/auth';
import { FailureSparkline } from '../components/charts/failure-sparkline';
import { Empty, ErrorMessage, Loading, NeedsScope } from '../components/feedback';
import { Panel, Stat } from '../components/panel';
import { TimeRangePicker } from '../components/time-range-picker';
import { RelativeTime } from '../components/time';
import { formatCount, formatDuration, formatMoney } from '../lib/format';
import { paths } from '../lib/routes';
import { rangeLabel } from '../lib/time-range';
import { groupSearch, ongoingCount, parseTriageSearch, triageSearch, type TriageState } from '../lib/triage';
import { Link, navigate, useLocation } from '../router';
import { BulkJobsTable } from './triage/bulk-jobs-table';
import { CriticalBadge, KindBadge, OngoingBadge, TaskCounts } from './triage/group-parts';
import { useTitle } from './use-title';

function TriageFilters({ state }: { state: TriageState }) {
  const handlers = useHandlers();
  const formId = useId();
  const [draft, setDraft] = useState({ namespace: state.namespace, name: state.name });
  const [synced, setSynced] = useState(state);
  // Back/forward or a link changed the URL: the form shows what the URL says.
  if (synced !== state) {
    setSynced(state);
    setDraft({ namespace: state.namespace, name: state.name });
  }
  const options = useMemo(() => {
    const templates = handlers.data?.templates ?? [];
    return {
      namespace: [...new Set(templates.map((t) => t.namespace))],
      name: [...new Set(templates.map((t) => t.name))],
    };
  }, [handlers.data]);
  const apply = (event: FormEvent) => {
    event.preventDefault();
    navigate(paths.triage(triageSearch({ ...state, ...draft })));
  };
  const field = (key: 'namespace' | 'name', label: string) => (
    <label className="field">
      <span className="field__label">{label}</span>
      <input
        className="input"
        value={draft[key]}
        list={`${formId}-${key}`}
        onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}
        spellCheck={false}
      />
      <datalist id={`${formId}-${key}`}>
        {options[key].map((v) => (
          <option key={v} value={v} />
        ))}
      </datalist>
    </label>
  );
  return (
    <form
      className="filters filters__form filters--inline"
      onSubmit={apply}
      aria-label="Filter failure groups"
    >
      {field('namespace', 'Namespace')}
      {field('name', 'Task name')}
      <div className="filters__buttons">
        <button type="submit" className="btn btn--primary">
          Apply
        </button>
        <button
          type="button"
          className="btn"
          disabled={!state.namespace && !state.name}
          onClick={() => navigate(paths.triage(triageSearch({ ...state, namespace: '', name: '' })))}
        >
          Clear
        </button>
      </div>
    </form>
  );
}

function GroupRow({
  group,
  rank,
  state,
  bucketSeconds,
}: {
  group: FailureGroup;
  rank: number;
  state: TriageState;
  bucketSeconds: number;
}) {
  const to = paths.failureGroup(group.fingerprint, groupSearch(state.range));
  return (
    <tr data-group={group.fingerprint} className={group.ongoing ? 'row--ongoing' : undefined}>
      <td className="num">{rank}</td>
      <td>
        <span className="mono small">{group.template}</span>
        <div className="mono strong">{group.step}</div>
      </td>
      <td>
        {group.error_type !== group.kind && <span className="mono">{group.error_type ?? '—'}</span>}{' '}
        <KindBadge kind={group.kind} /> <CriticalBadge critical={group.critical} />
      </td>
      <td className="wrap signature-cell">
        <Link to={to} className="signature" title="Open this group: its tasks and the bulk actions">
          {group.signature}
        </Link>
        {group.ongoing && (
          <>
            {' '}
            <OngoingBadge />
          </>
        )}
      </td>
      <td>
        <TaskCounts group={group} />
      </td>
      <td className={`num${group.revenue_at_risk > 0 ? ' text-danger strong' : ''}`}>
        {formatMoney(group.revenue_at_risk)}
      </td>
      <td className="num">{formatCount(group.affected_customers)}</td>
      <td>
        <RelativeTime iso={group.first_seen} />
      </td>
      <td>
        <RelativeTime iso={group.last_seen} />
      </td>
      <td>
        <FailureSparkline series={group.series} bucketSeconds={bucketSeconds} />
      </td>
    </tr>
  );
}

export function TriagePage() {
  useTitle('Triage');
  const { search } = useLocation();
  const state = useMemo(() => parseTriageSearch(search), [search]);
  const { canReadAnalytics } = useAuth();
  const query = useFailureGroups(state.range, state, canReadAnalytics);
  const data = query.data;
  const ongoing = data ? ongoingCount(data.groups) : 0;

  return (
    <div className="page">
      <div className="page__head">
        <h1 className="page__title">Triage</h1>
        <span className="muted">failure groups, {rangeLabel(state.range)}, live</span>
        <div className="page__tools">
          <TimeRangePicker param="time_range" />
        </div>
      </div>
      <TriageFilters state={state} />
      {!canReadAnalytics ? (
        <NeedsScope scope="analytics:read" />
      ) : query.isPending ? (
        <Loading what="Grouping failures" />
      ) : query.error ? (
        <ErrorMessage error={query.error} retry={() => void query.refetch()} />
      ) : data ? (
        <>
          <div className="stats-row">
            <Stat
              label="revenue at risk"
              value={formatMoney(data.revenue_at_risk)}
              tone={data.revenue_at_risk > 0 ? 'bad' : undefined}
              hint="of the groups' tasks not recovered or cancelled"
            />
            <Stat
              label="tasks in failure groups"
              value={formatCount(data.total_tasks)}
              tone={data.total_tasks > 0 ? 'bad' : undefined}
            />
            <Stat label="affected customers" value={formatCount(data.affected_customers)} />
            <Stat
              label="groups"
              value={
                <>
                  {formatCount(data.groups.length)}
                  {ongoing > 0 && <span className="stat__extra"> · {ongoing} ongoing</span>}
                </>
              }
              tone={ongoing > 0 ? 'warn' : undefined}
              hint="ongoing: a failure in the last 5 minutes"
            />
          </div>
          <Panel title="Failure groups" id="groups">
            {data.groups.length === 0 ? (
              <Empty>No failure in this window.</Empty>
            ) : (
              <div className="table-wrap">
                <table className={`table${query.isPlaceholderData ? ' is-stale' : ''}`}>
                  <caption className="sr-only">
                    Failure groups, ranked by revenue at risk, then by number of tasks
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col" className="num">
                        Rank
                      </th>
                      <th scope="col">Template / step</th>
                      <th scope="col">Error type</th>
                      <th scope="col">Signature</th>
                      <th scope="col">Tasks</th>
                      <th scope="col" className="num">
                        Revenue at risk
                      </th>
                      <th scope="col" className="num">
                        Customers
                      </th>
                      <th scope="col">First seen</th>
                      <th scope="col">Last seen</th>
                      <th scope="col">Failures</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.groups.map((g, i) => (
                      <GroupRow
                        key={g.fingerprint}
                        group={g}
                        rank={i + 1}
                        state={state}
                        bucketSeconds={data.bucket_seconds}
                      />
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            {data.truncated && (
              <p className="muted small">More groups than shown: the least costly ones were left out.</p>
            )}
            <p className="muted small">
              Buckets of {formatDuration(data.bucket_seconds)} · messages normalised (ids and numbers
              replaced) and redacted by the server
            </p>
          </Panel>
        </>
      ) : null}
      <Panel title="Recent bulk jobs" id="bulk-jobs" actions={<Link to={paths.audit()}>Audit log</Link>}>
        <BulkJobsTable limit={5} />
      </Panel>
    </div>
  );
}
