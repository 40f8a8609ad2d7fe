/**
 * Overview, live: is anything wrong, where, and how much does it cost. Refetched from stream events (at
 * most once a second) with a 30 s fallback.
 */
import { useMemo, useState } from 'react';
import {
  useBottlenecks,
  useHealth,
  useImpact,
  useNewestFailures,
  useThroughput,
  useWorkers,
} from '../api/queries';
import type { HealthReport, Throughput } from '../api/types';
import { useAuth } from '../auth/auth';
import { Sparkline } from '../components/charts/sparkline';
import { ThroughputChart } from '../components/charts/throughput-chart';
import { Empty, ErrorMessage, Loading, NeedsScope } from '../components/feedback';
import { Panel, Stat } from '../components/panel';
import { StatusBadge } from '../components/status';
import { RelativeTime } from '../components/time';
import { formatCount, formatDuration, formatMoney, formatPercent } from '../lib/format';
import { paths } from '../lib/routes';
import { listSearch, emptyFilters } from '../lib/task-filters';
import { seriesKey, sumSeries, total } from '../lib/throughput';
import { Link } from '../router';
import { InlineCode } from './task/inline-code';
import { useTitle } from './use-title';

function HealthPanel({ health }: { health: HealthReport }) {
  const tp = health.checks.task_processing;
  const db = health.checks.database;
  const handlers = health.checks.step_handlers;
  return (
    <dl className="facts">
      <div>
        <dt>Database</dt>
        <dd>
          <StatusBadge status={db?.status ?? 'unknown'} compact />{' '}
          {db?.response_time_ms !== undefined && <span className="muted">{db.response_time_ms} ms</span>}
        </dd>
      </div>
      <div>
        <dt>Task processing</dt>
        <dd>
          <StatusBadge status={tp?.status ?? 'unknown'} compact />{' '}
          <span className="muted">worker {tp?.worker ?? '—'}</span>
        </dd>
      </div>
      <div>
        <dt>Step handlers</dt>
        <dd>
          <StatusBadge status={handlers?.status ?? 'unknown'} compact />{' '}
          <span className="muted">{handlers?.registered_handlers ?? '—'} registered</span>
          {handlers?.missing_handlers && handlers.missing_handlers.length > 0 && (
            <span className="text-danger"> · missing: {handlers.missing_handlers.join(', ')}</span>
          )}
        </dd>
      </div>
      <div>
        <dt>Failed in the last hour</dt>
        <dd className={tp?.failed_tasks_last_hour ? 'text-danger' : undefined}>
          {formatCount(tp?.failed_tasks_last_hour)}
        </dd>
      </div>
    </dl>
  );
}

function ThroughputPanel({ data }: { data: Throughput }) {
  const [selected, setSelected] = useState<string | null>(null);
  const counts = useMemo(() => sumSeries(data.series, data.buckets.length, selected), [data, selected]);
  const rows = useMemo(
    () =>
      data.series
        .map((s) => ({
          s,
          created: total(s.created),
          completed: total(s.completed),
          failed: total(s.failed),
        }))
        .sort((a, b) => b.failed - a.failed || b.created - a.created),
    [data.series],
  );
  return (
    <>
      <div className="toolbar">
        <label className="field field--inline">
          <span className="field__label">Show</span>
          <select
            className="input"
            value={selected ?? ''}
            onChange={(e) => setSelected(e.target.value || null)}
          >
            <option value="">all tasks</option>
            {data.series.map((s) => (
              <option key={seriesKey(s)} value={seriesKey(s)}>
                {seriesKey(s)}
              </option>
            ))}
          </select>
        </label>
        <span className="muted">
          {formatCount(total(counts.created))} created · {formatCount(total(counts.completed))} completed ·{' '}
          <span className={total(counts.failed) ? 'text-danger' : undefined}>
            {formatCount(total(counts.failed))} failed
          </span>{' '}
          · buckets of {formatDuration(data.bucket_seconds)}
        </span>
      </div>
      <ThroughputChart buckets={data.buckets} counts={counts} bucketSeconds={data.bucket_seconds} />
      <h3 className="subhead">Failures alone</h3>
      <ThroughputChart
        buckets={data.buckets}
        counts={counts}
        bucketSeconds={data.bucket_seconds}
        variant="failures"
      />
      {rows.length > 0 && (
        <table className="table table--compact">
          <caption className="sr-only">Throughput per namespace and task</caption>
          <thead>
            <tr>
              <th scope="col">Namespace</th>
              <th scope="col">Task</th>
              <th scope="col" className="num">
                Created
              </th>
              <th scope="col" className="num">
                Completed
              </th>
              <th scope="col" className="num">
                Failed
              </th>
              <th scope="col" className="num">
                Failure rate
              </th>
              <th scope="col">Last hour</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ s, created, completed, failed }) => (
              <tr key={seriesKey(s)}>
                <td>{s.namespace}</td>
                <td>
                  <Link
                    to={paths.tasks(
                      listSearch({
                        filters: { ...emptyFilters(), namespace: s.namespace, name: s.name },
                        cursor: null,
                      }),
                    )}
                  >
                    {s.name}
                  </Link>
                </td>
                <td className="num">{formatCount(created)}</td>
                <td className="num">{formatCount(completed)}</td>
                <td className={`num${failed ? ' text-danger' : ''}`}>
                  {failed ? (
                    <Link
                      to={paths.tasks(
                        listSearch({
                          filters: {
                            ...emptyFilters(),
                            namespace: s.namespace,
                            name: s.name,
                            status: ['failed'],
                          },
                          cursor: null,
                        }),
                      )}
                    >
                      {formatCount(failed)}
                    </Link>
                  ) : (
                    0
                  )}
                </td>
                <td className="num">
                  {completed + failed ? formatPercent(failed / (completed + failed), 1) : '—'}
                </td>
                <td>
                  <Sparkline
                    values={s.completed}
                    secondary={s.failed}
                    label={`${seriesKey(s)} completed and failed per interval`}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

export function OverviewPage() {
  useTitle('Overview');
  const { canReadAnalytics } = useAuth();
  const health = useHealth();
  const throughput = useThroughput('1h');
  const failures = useNewestFailures();
  const bottlenecks = useBottlenecks('1h', canReadAnalytics);
  const impact = useImpact('1h', canReadAnalytics);
  const workers = useWorkers();

  const inProgress = throughput.data ? total(throughput.data.in_progress.map((r) => r.count)) : undefined;
  const ready = throughput.data
    ? total(throughput.data.ready_steps.map((r) => r.count))
    : workers.data?.ready_backlog;
  const healthStatus = health.data?.status;

  return (
    <div className="page">
      <div className="page__head">
        <h1 className="page__title">Overview</h1>
        <span className="muted">last hour, live</span>
      </div>

      <div className="stats-row">
        <div className={`stat stat--health stat--${healthStatus ?? 'unknown'}`}>
          <div className="stat__value">{healthStatus ? <StatusBadge status={healthStatus} /> : '…'}</div>
          <div className="stat__label">health</div>
        </div>
        <Stat
          label="tasks in progress"
          value={formatCount(inProgress ?? health.data?.checks.task_processing?.active_tasks)}
        />
        <Stat
          label="ready steps waiting for a worker"
          value={formatCount(ready)}
          tone={ready ? 'warn' : undefined}
        />
        <Stat
          label="worker slots in use"
          value={workers.data ? `${workers.data.slots_in_use} / ${workers.data.slots_total}` : '—'}
          hint={workers.data ? `${workers.data.live_workers} live workers` : undefined}
        />
        <Stat
          label="failed tasks (1 h)"
          value={formatCount(
            throughput.data?.totals.failed ?? health.data?.checks.task_processing?.failed_tasks_last_hour,
          )}
          tone={(throughput.data?.totals.failed ?? 0) > 0 ? 'bad' : undefined}
        />
        <Stat
          label="revenue at risk (1 h)"
          value={canReadAnalytics ? formatMoney(impact.data?.impact_analysis.estimated_revenue_loss) : '—'}
          tone={(impact.data?.impact_analysis.estimated_revenue_loss ?? 0) > 0 ? 'bad' : undefined}
          hint={
            canReadAnalytics ? 'estimated revenue loss of failed workflows' : 'needs the analytics:read scope'
          }
        />
      </div>

      <div className="grid grid--overview">
        <Panel title="Throughput and failures" id="throughput" className="span-2">
          {throughput.isPending ? (
            <Loading />
          ) : throughput.error ? (
            <ErrorMessage error={throughput.error} retry={() => void throughput.refetch()} />
          ) : (
            <ThroughputPanel data={throughput.data} />
          )}
        </Panel>

        <Panel title="Health" id="health">
          {health.isPending ? (
            <Loading />
          ) : health.error ? (
            <ErrorMessage error={health.error} />
          ) : (
            <HealthPanel health={health.data} />
          )}
          {throughput.data && throughput.data.in_progress.length > 0 && (
            <>
              <h3 className="subhead">In progress</h3>
              <ul className="plain-list">
                {throughput.data.in_progress.map((r) => (
                  <li key={`${r.namespace}.${r.name}`}>
                    <Link
                      to={paths.tasks(
                        listSearch({
                          filters: {
                            ...emptyFilters(),
                            namespace: r.namespace,
                            name: r.name,
                            status: ['in_progress'],
                          },
                          cursor: null,
                        }),
                      )}
                    >
                      {r.namespace}.{r.name}
                    </Link>{' '}
                    <span className="muted">{formatCount(r.count)}</span>
                  </li>
                ))}
              </ul>
            </>
          )}
          {throughput.data && throughput.data.ready_steps.some((r) => r.count > 0) && (
            <>
              <h3 className="subhead">Ready backlog by namespace</h3>
              <ul className="plain-list">
                {throughput.data.ready_steps.map((r) => (
                  <li key={r.namespace}>
                    {r.namespace} <span className="muted">{formatCount(r.count)} steps</span>
                  </li>
                ))}
              </ul>
            </>
          )}
        </Panel>

        <Panel
          title="Newest failures"
          id="failures"
          actions={<Link to={paths.tasks('?status=failed')}>All failed tasks</Link>}
        >
          {failures.isPending ? (
            <Loading />
          ) : failures.error ? (
            <ErrorMessage error={failures.error} />
          ) : failures.data.tasks.length === 0 ? (
            <Empty>No failed tasks.</Empty>
          ) : (
            <table className="table table--compact table--fixed">
              <caption className="sr-only">The ten newest failed tasks</caption>
              <thead>
                <tr>
                  <th scope="col">Task</th>
                  <th scope="col" className="col-time">
                    Failed
                  </th>
                </tr>
              </thead>
              <tbody>
                {failures.data.tasks.map((t) => (
                  <tr key={t.id} data-task-id={t.id}>
                    <td className="ellipsis">
                      <Link to={paths.task(t.id)} className="mono" title={`${t.full_name} ${t.id}`}>
                        {t.id}
                      </Link>
                      <div className="muted small ellipsis">
                        {t.full_name}
                        {t.correlation_id ? ` · ${t.correlation_id}` : ''}
                      </div>
                    </td>
                    <td>
                      <RelativeTime iso={t.failed_at ?? t.updated_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Panel>

        <Panel
          title="Top bottleneck steps"
          id="bottlenecks"
          actions={<Link to={paths.bottlenecks()}>All bottlenecks</Link>}
        >
          {!canReadAnalytics ? (
            <NeedsScope scope="analytics:read" />
          ) : bottlenecks.isPending ? (
            <Loading />
          ) : bottlenecks.error ? (
            <ErrorMessage error={bottlenecks.error} />
          ) : bottlenecks.data.steps.length === 0 ? (
            <Empty>No step ran in the last hour.</Empty>
          ) : (
            <table className="table table--compact">
              <thead>
                <tr>
                  <th scope="col">Step</th>
                  <th scope="col" className="num">
                    Share
                  </th>
                  <th scope="col" className="num">
                    p95
                  </th>
                  <th scope="col" className="num">
                    Failures
                  </th>
                </tr>
              </thead>
              <tbody>
                {bottlenecks.data.steps.slice(0, 5).map((s) => (
                  <tr key={`${s.namespace}.${s.name}.${s.step}`}>
                    <td>
                      <span className="mono">{s.step}</span>
                      <div className="muted small">
                        {s.namespace}.{s.name}
                      </div>
                    </td>
                    <td className="num">{formatPercent(s.share_of_time)}</td>
                    <td className="num">{formatDuration(s.p95_seconds)}</td>
                    <td className={`num${s.failure_rate > 0 ? ' text-danger' : ''}`}>
                      {formatPercent(s.failure_rate, 1)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Panel>

        <Panel title="Revenue at risk" id="impact" actions={<Link to={paths.impact()}>Business impact</Link>}>
          {!canReadAnalytics ? (
            <NeedsScope scope="analytics:read" />
          ) : impact.isPending ? (
            <Loading />
          ) : impact.error ? (
            <ErrorMessage error={impact.error} />
          ) : (
            <>
              <p className="big-number text-danger">
                {formatMoney(impact.data.impact_analysis.estimated_revenue_loss)}
              </p>
              <dl className="facts">
                <div>
                  <dt>failed workflows</dt>
                  <dd>{formatCount(impact.data.impact_analysis.total_failed_workflows)}</dd>
                </div>
                <div>
                  <dt>affected customers</dt>
                  <dd>{formatCount(impact.data.impact_analysis.affected_customers)}</dd>
                </div>
              </dl>
              {impact.data.recommendations[0] && (
                <p className="recommendation">
                  <InlineCode text={impact.data.recommendations[0]} />
                </p>
              )}
            </>
          )}
        </Panel>
      </div>
    </div>
  );
}
