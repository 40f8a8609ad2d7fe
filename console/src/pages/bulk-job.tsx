/**
 * A bulk job's progress (`bulk/<id>`): read every second while it runs (and on stream events), its
 * per-task outcomes, and (tasks:write) Stop.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useMemo, useState, type ReactNode } from 'react';
import { ApiError, api } from '../api/client';
import { useBulkJob } from '../api/queries';
import type { BulkJob, BulkJobTask } from '../api/types';
import { useAuth } from '../auth/auth';
import { Dialog } from '../components/dialog';
import { Empty, ErrorMessage, Loading } from '../components/feedback';
import { Panel, Stat } from '../components/panel';
import { StatusBadge } from '../components/status';
import { DateTime, RelativeTime } from '../components/time';
import { actionVerb, bulkProgress, checkReason, REASON_MAX } from '../lib/bulk';
import { formatCount } from '../lib/format';
import { prettyJson } from '../lib/json-input';
import { paths } from '../lib/routes';
import { parseRange } from '../lib/time-range';
import { groupSearch } from '../lib/triage';
import { Link } from '../router';
import { ProgressBar } from './triage/progress-bar';
import { useTitle } from './use-title';

const TASK_STATUSES = ['failed', 'skipped', 'pending', 'done'] as const;
const SHOWN = 200;

function Fact({ label, children, wide = false }: { label: string; children: ReactNode; wide?: boolean }) {
  return (
    <div className={wide ? 'fact fact--wide' : 'fact'}>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function StopDialog({ job, onClose }: { job: BulkJob; onClose: () => void }) {
  const client = useQueryClient();
  const id = useId();
  const [reason, setReason] = useState('');
  const problem = checkReason(reason);
  const stop = useMutation({
    mutationFn: () => api.stopBulkJob(job.id, reason.trim()),
    onSuccess: () => onClose(),
    onSettled: () => client.invalidateQueries({ queryKey: ['bulk'] }),
  });
  return (
    <Dialog
      title="Stop this bulk job?"
      onClose={onClose}
      onConfirm={() => stop.mutate()}
      confirmLabel="Stop the job"
      confirmDisabled={problem !== null}
      busy={stop.isPending}
      danger
    >
      <p>
        No further task is acted on. Tasks already{' '}
        {actionVerb(job.action) === 'cancel' ? 'cancelled' : 'done'} stay as they are.
      </p>
      <div className="field">
        <label htmlFor={id} className="field__label">
          Reason (required, recorded in the audit log)
        </label>
        <textarea
          id={id}
          className="input textarea"
          rows={2}
          value={reason}
          maxLength={REASON_MAX}
          required
          onChange={(e) => setReason(e.target.value)}
        />
      </div>
      {stop.error ? <ErrorMessage error={stop.error} /> : null}
    </Dialog>
  );
}

function Outcomes({ tasks }: { tasks: BulkJobTask[] }) {
  const [status, setStatus] = useState<string | null>(null);
  const [all, setAll] = useState(false);
  const counts = useMemo(() => {
    const c = new Map<string, number>();
    for (const t of tasks) c.set(t.status, (c.get(t.status) ?? 0) + 1);
    return c;
  }, [tasks]);
  const rows = status ? tasks.filter((t) => t.status === status) : tasks;
  const shown = all ? rows : rows.slice(0, SHOWN);
  if (tasks.length === 0) return <Empty>No task matched.</Empty>;
  return (
    <>
      <div className="chips" role="group" aria-label="Show tasks by outcome">
        <button type="button" className="chip" aria-pressed={status === null} onClick={() => setStatus(null)}>
          all {formatCount(tasks.length)}
        </button>
        {TASK_STATUSES.filter((s) => counts.get(s)).map((s) => (
          <button
            key={s}
            type="button"
            className="chip"
            aria-pressed={status === s}
            onClick={() => setStatus(status === s ? null : s)}
          >
            {s} {formatCount(counts.get(s))}
          </button>
        ))}
      </div>
      <div className="table-wrap table-wrap--tall">
        <table className="table table--compact">
          <caption className="sr-only">What happened to each task</caption>
          <thead>
            <tr>
              <th scope="col">Task</th>
              <th scope="col">Outcome</th>
              <th scope="col">Message</th>
              <th scope="col">At</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((t) => (
              <tr
                key={t.task_id}
                data-task-id={t.task_id}
                className={t.status === 'failed' ? 'row--failed' : undefined}
              >
                <td className="mono small">
                  <Link to={paths.task(t.task_id)}>{t.task_id}</Link>
                </td>
                <td>
                  <StatusBadge status={t.status} compact />
                </td>
                <td className="wrap">{t.message ?? <span className="muted">—</span>}</td>
                <td>{t.at ? <DateTime iso={t.at} /> : <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {shown.length < rows.length && (
        <p className="pager">
          <span className="muted">
            {formatCount(shown.length)} of {formatCount(rows.length)} shown
          </span>
          <button type="button" className="btn btn--tiny" onClick={() => setAll(true)}>
            Show all
          </button>
        </p>
      )}
    </>
  );
}

function FilterFacts({ job }: { job: BulkJob }) {
  const f = job.filter;
  const fp = f.failure_group;
  const range = parseRange(`?time_range=${encodeURIComponent(f.time_range ?? '')}`, 'time_range');
  return (
    <>
      {fp && (
        <Fact label="Failure group">
          <Link to={paths.failureGroup(fp, groupSearch(range))} className="mono">
            {fp}
          </Link>
          {f.time_range ? <span className="muted small"> · window {f.time_range}</span> : null}
        </Fact>
      )}
      <Fact label="Filter" wide>
        <pre className="json json--inline">{prettyJson(f)}</pre>
      </Fact>
    </>
  );
}

export function BulkJobPage({ id }: { id: string }) {
  const query = useBulkJob(id);
  const { canWrite } = useAuth();
  const [stopping, setStopping] = useState(false);
  const job = query.data?.job;
  useTitle(job ? `Bulk ${actionVerb(job.action)} ${job.status}` : 'Bulk job');

  if (query.isPending) return <Loading what="Loading the job" />;
  if (query.error) {
    const notFound = query.error instanceof ApiError && query.error.status === 404;
    return (
      <div className="page">
        <h1 className="page__title">{notFound ? 'Bulk job not found' : 'Could not load the bulk job'}</h1>
        <p className="mono">{id}</p>
        <ErrorMessage error={query.error} retry={notFound ? undefined : () => void query.refetch()} />
        <p>
          <Link to={paths.audit()}>Audit log and recent jobs</Link>
        </p>
      </div>
    );
  }
  const { job: j, tasks } = query.data;
  const p = bulkProgress(j);
  const running = j.status === 'running';

  return (
    <div className="page page--detail">
      <section className="task-header" aria-labelledby="job-title">
        <div className="task-header__top">
          <div>
            <nav className="breadcrumb" aria-label="Breadcrumb">
              <Link to={paths.triage()}>Triage</Link> <span aria-hidden="true">›</span>{' '}
              <Link to={paths.audit()}>Bulk jobs</Link>
            </nav>
            <h1 id="job-title" className="task-header__title">
              <span>
                Bulk {actionVerb(j.action)}
                {j.step ? <span className="mono"> {j.step}</span> : null}
              </span>
            </h1>
          </div>
          <div className="task-header__actions">
            {canWrite && running && (
              <button type="button" className="btn btn--danger-outline" onClick={() => setStopping(true)}>
                Stop
              </button>
            )}
          </div>
        </div>
        <div className="bulk-progress" data-bulk-job={j.id} data-status={j.status}>
          <div className="bulk-progress__line">
            <StatusBadge status={j.status} />
            <span className="strong">{p.label}</span>
            {running && <span className="muted small">· updated every second</span>}
          </div>
          <ProgressBar job={j} />
          <div className="stats-row stats-row--inner">
            <Stat label="done" value={formatCount(j.done)} />
            <Stat label="skipped" value={formatCount(j.skipped)} tone={j.skipped ? 'warn' : undefined} />
            <Stat label="failed" value={formatCount(j.failed)} tone={j.failed ? 'bad' : undefined} />
            <Stat label="pending" value={formatCount(j.pending)} />
            <Stat label="total" value={formatCount(j.total)} />
          </div>
        </div>
        <dl className="facts-grid">
          <Fact label="Job id">
            <span className="mono">{j.id}</span>
          </Fact>
          <Fact label="Actor">{j.actor}</Fact>
          <Fact label="Started">
            <RelativeTime iso={j.created_at} />{' '}
            <span className="muted small">
              · <DateTime iso={j.created_at} />
            </span>
          </Fact>
          <Fact label="Finished">
            {j.finished_at ? <DateTime iso={j.finished_at} /> : <span className="muted">not yet</span>}
          </Fact>
          <Fact label="Rate">{j.rate_per_second} tasks/s</Fact>
          <Fact label="Limit">{formatCount(j.max_tasks)} tasks</Fact>
          <Fact label="Reason" wide>
            <span className="wrap">{j.reason}</span>
          </Fact>
          <FilterFacts job={j} />
        </dl>
      </section>

      <Panel title="Tasks" id="job-tasks">
        <Outcomes tasks={tasks} />
      </Panel>

      {stopping && canWrite && <StopDialog job={j} onClose={() => setStopping(false)} />}
    </div>
  );
}
