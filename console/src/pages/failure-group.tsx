/**
 * One failure group (`triage/<fingerprint>?time_range=`): what it is, what to do about it, who and what it
 * touched, its tasks, and (tasks:write) "Retry all" / "Cancel all" through a dry run first.
 */
import { useState, type ReactNode } from 'react';
import { ApiError } from '../api/client';
import { useFailureGroup } from '../api/queries';
import type { FailureGroup, FailureGroupDetail } from '../api/types';
import { useAuth } from '../auth/auth';
import { FailureSparkline } from '../components/charts/failure-sparkline';
import { CopyButton } from '../components/copy-button';
import { Empty, ErrorMessage, Loading, NeedsScope } from '../components/feedback';
import { Panel } from '../components/panel';
import { StatusBadge } from '../components/status';
import { DateTime, RelativeTime } from '../components/time';
import { TimeRangePicker, useRange } from '../components/time-range-picker';
import { useElementWidth } from '../hooks/use-element-width';
import { endedAt, formatCount, formatDuration, formatMoney } from '../lib/format';
import { paths } from '../lib/routes';
import { emptyFilters, listSearch } from '../lib/task-filters';
import { rangeLabel, type TimeRangeChoice } from '../lib/time-range';
import { bucketSecondsOf, groupSearch } from '../lib/triage';
import { Link } from '../router';
import { InlineCode } from './task/inline-code';
import { BulkActionDialog, type GroupAction } from './triage/bulk-dialog';
import { CriticalBadge, KindBadge, OngoingBadge, TaskCounts } from './triage/group-parts';
import { useTitle } from './use-title';

function Fact({ label, children, wide = false }: { label: string; children: ReactNode; wide?: boolean }) {
  return (
    <div className={wide ? 'fact fact--wide' : 'fact'}>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function GroupHeader({
  group,
  range,
  actions,
}: {
  group: FailureGroup;
  range: TimeRangeChoice;
  actions: ReactNode;
}) {
  return (
    <section className="task-header" aria-labelledby="group-title">
      <div className="task-header__top">
        <div>
          <nav className="breadcrumb" aria-label="Breadcrumb">
            <Link to={paths.triage(groupSearch(range))}>Triage</Link> <span aria-hidden="true">›</span>{' '}
            <span className="mono">{group.template}</span> <span aria-hidden="true">›</span>{' '}
            <span className="mono">{group.step}</span>
          </nav>
          <h1 id="group-title" className="task-header__title">
            <span className="mono signature-title">{group.signature}</span>
            {group.ongoing && <OngoingBadge />}
            <KindBadge kind={group.kind} />
            <CriticalBadge critical={group.critical} />
          </h1>
        </div>
        <div className="task-header__actions">{actions}</div>
      </div>
      <dl className="facts-grid">
        <Fact label="Template">
          <span className="mono">{group.template}</span>
        </Fact>
        <Fact label="Step">
          <span className="mono">{group.step}</span>
        </Fact>
        <Fact label="Error type">
          <span className="mono">{group.error_type ?? '—'}</span>
        </Fact>
        {group.sla_seconds != null && (
          <Fact label="Task SLA">
            {formatDuration(group.sla_seconds)}
            {group.tasks_over_sla != null && (
              <>
                {' · '}
                <span
                  className={group.tasks_over_sla > 0 ? 'text-danger strong' : 'muted'}
                  data-over-sla-count
                >
                  {group.tasks_over_sla.toLocaleString('en-US')} over SLA
                </span>
              </>
            )}
          </Fact>
        )}
        <Fact label="Tasks">
          <TaskCounts group={group} />
        </Fact>
        <Fact label="Attempts">{formatCount(group.attempts)}</Fact>
        <Fact label="Revenue at risk">
          <span className={group.revenue_at_risk > 0 ? 'text-danger strong' : undefined}>
            {formatMoney(group.revenue_at_risk)}
          </span>
        </Fact>
        <Fact label="Affected customers">{formatCount(group.affected_customers)}</Fact>
        <Fact label="First seen">
          <RelativeTime iso={group.first_seen} />{' '}
          <span className="muted small">
            · <DateTime iso={group.first_seen} />
          </span>
        </Fact>
        <Fact label="Last seen">
          <RelativeTime iso={group.last_seen} />{' '}
          <span className="muted small">
            · <DateTime iso={group.last_seen} />
          </span>
        </Fact>
        <Fact label="Versions">
          {group.versions.length ? (
            group.versions.map((v) => (
              <span key={v} className="tag mono">
                {v}
              </span>
            ))
          ) : (
            <span className="muted">—</span>
          )}
        </Fact>
        <Fact label="Workers" wide>
          {group.workers.length ? (
            group.workers.map((w) => (
              <span key={w.id} className="tag mono" title={w.host ? `on ${w.host}` : undefined}>
                {w.id}
                {w.host ? ` (${w.host})` : ''}
              </span>
            ))
          ) : (
            <span className="muted">—</span>
          )}
        </Fact>
        <Fact label="Examples" wide>
          {group.example_task_ids.length ? (
            <span className="inline-actions">
              {group.example_task_ids.map((id) => (
                <Link key={id} to={paths.task(id)} className="mono small">
                  {id}
                </Link>
              ))}
            </span>
          ) : (
            <span className="muted">—</span>
          )}
        </Fact>
        {group.message && (
          <Fact label="Latest message (redacted)" wide>
            <span className="mono small">{group.message}</span>
          </Fact>
        )}
        <Fact label="Fingerprint">
          <span className="inline-actions">
            <span className="mono">{group.fingerprint}</span>
            <CopyButton text={group.fingerprint} />
          </span>
        </Fact>
      </dl>
    </section>
  );
}

/** The group's failures over the window, as wide as its panel. */
function WideSparkline({ series, bucketSeconds }: { series: number[]; bucketSeconds: number | null }) {
  const [ref, width] = useElementWidth<HTMLDivElement>(640);
  return (
    <div ref={ref} className="chart">
      <FailureSparkline series={series} bucketSeconds={bucketSeconds} width={width} height={64} />
    </div>
  );
}

function GroupTasks({
  tasks,
  truncated,
  stale,
}: {
  tasks: FailureGroupDetail['tasks'];
  truncated: boolean;
  stale: boolean;
}) {
  if (tasks.length === 0) return <Empty>No task in this window.</Empty>;
  return (
    <>
      <div className="table-wrap table-wrap--tall">
        <table className={`table table--compact${stale ? ' is-stale' : ''}`}>
          <caption className="sr-only">The group's tasks, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Task</th>
              <th scope="col">ID</th>
              <th scope="col">Correlation id</th>
              <th scope="col">Created</th>
              <th scope="col">Ended</th>
            </tr>
          </thead>
          <tbody>
            {tasks.map((t) => (
              <tr
                key={t.id}
                data-task-id={t.id}
                className={t.status === 'failed' ? 'row--failed' : undefined}
              >
                <td>
                  <StatusBadge status={t.status} compact />
                  {t.over_sla && (
                    <>
                      {' '}
                      <span className="badge badge--ongoing" data-over-sla>
                        over SLA
                      </span>
                    </>
                  )}
                </td>
                <td>
                  <Link to={paths.task(t.id)}>{t.full_name}</Link>
                </td>
                <td className="mono small">
                  <Link to={paths.task(t.id)} className="link-quiet">
                    {t.id}
                  </Link>
                </td>
                <td className="mono small">{t.correlation_id ?? '—'}</td>
                <td>
                  <RelativeTime iso={t.created_at} />
                </td>
                <td>
                  <RelativeTime iso={endedAt(t)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {truncated && <p className="muted small">The newest {tasks.length} tasks are listed.</p>}
    </>
  );
}

export function FailureGroupPage({ fingerprint }: { fingerprint: string }) {
  const range = useRange('time_range');
  const { canReadAnalytics, canWrite } = useAuth();
  const query = useFailureGroup(fingerprint, range, canReadAnalytics);
  const [pending, setPending] = useState<GroupAction | null>(null);
  const group = query.data?.group;
  useTitle(group ? `${group.step}: ${group.error_type ?? group.kind}` : 'Failure group');

  const head = (
    <div className="page__head">
      <span className="muted">Failure group, {rangeLabel(range)}, live</span>
      <div className="page__tools">
        <TimeRangePicker param="time_range" />
      </div>
    </div>
  );

  if (!canReadAnalytics)
    return (
      <div className="page">
        <h1 className="page__title">Failure group</h1>
        <NeedsScope scope="analytics:read" />
      </div>
    );
  if (query.isPending)
    return (
      <div className="page">
        {head}
        <Loading what="Loading the group" />
      </div>
    );
  if (query.error) {
    const notFound = query.error instanceof ApiError && query.error.status === 404;
    return (
      <div className="page">
        {head}
        <h1 className="page__title">
          {notFound ? 'No such failure group in this window' : 'Could not load the group'}
        </h1>
        <p className="mono">{fingerprint}</p>
        <ErrorMessage error={query.error} retry={notFound ? undefined : () => void query.refetch()} />
        {notFound && <p>It may have failed longer ago than this window: pick a longer one above.</p>}
        <p>
          <Link to={paths.triage(groupSearch(range))}>Back to triage</Link>
        </p>
      </div>
    );
  }
  const { tasks, truncated } = query.data;
  const g = query.data.group;
  const actions = canWrite ? (
    <>
      <button type="button" className="btn btn--primary" onClick={() => setPending('retry')}>
        Retry all
      </button>
      <button type="button" className="btn btn--danger-outline" onClick={() => setPending('cancel')}>
        Cancel all
      </button>
    </>
  ) : null;
  const templateTasks = (status: string[]) =>
    paths.tasks(
      listSearch({
        filters: { ...emptyFilters(), namespace: g.namespace, name: g.name, status },
        cursor: null,
      }),
    );

  return (
    <div className="page page--detail">
      {head}
      <GroupHeader group={g} range={range} actions={actions} />
      <section
        className={`suggestion suggestion--${g.ongoing ? 'bad' : 'warn'}`}
        aria-labelledby="group-suggestion-title"
      >
        <h2 id="group-suggestion-title" className="suggestion__title">
          Suggested action
        </h2>
        <p className="suggestion__action">
          <InlineCode text={g.suggested_action} />
        </p>
      </section>
      <Panel title="Failures over the window" id="series">
        <WideSparkline series={g.series} bucketSeconds={bucketSecondsOf(range, g.series.length)} />
      </Panel>
      <Panel
        title={`Tasks (${formatCount(g.tasks)})`}
        id="group-tasks"
        actions={
          <Link to={templateTasks(['failed'])}>
            All failed {g.namespace}.{g.name} tasks
          </Link>
        }
      >
        <GroupTasks tasks={tasks} truncated={truncated} stale={query.isPlaceholderData} />
      </Panel>
      {pending && canWrite && (
        <BulkActionDialog action={pending} group={g} range={range} onClose={() => setPending(null)} />
      )}
    </div>
  );
}
