import { useBottlenecks } from '../api/queries';
import { useAuth } from '../auth/auth';
import { BarChart } from '../components/charts/bar-chart';
import { Empty, ErrorMessage, Loading, NeedsScope } from '../components/feedback';
import { Panel } from '../components/panel';
import { TimeRangePicker, useRange } from '../components/time-range-picker';
import { formatCount, formatDuration, formatPercent } from '../lib/format';
import { rangeLabel } from '../lib/time-range';
import { useTitle } from './use-title';

export function BottlenecksPage() {
  useTitle('Bottlenecks');
  const range = useRange();
  const { canReadAnalytics } = useAuth();
  const query = useBottlenecks(range, canReadAnalytics);
  const steps = query.data?.steps ?? [];
  // One template: the step name says it all; several: prefix the task so equal step names stay apart.
  const oneTemplate = new Set(steps.map((s) => `${s.namespace}.${s.name}`)).size <= 1;
  const label = (s: (typeof steps)[number]) => (oneTemplate ? s.step : `${s.name}.${s.step}`);
  const key = (s: (typeof steps)[number]) => `${s.namespace}.${s.name}.${s.step}`;
  const top = steps.slice(0, 15);

  return (
    <div className="page">
      <div className="page__head">
        <h1 className="page__title">Bottlenecks</h1>
        <span className="muted">{rangeLabel(range)}</span>
        <div className="page__tools">
          <TimeRangePicker />
        </div>
      </div>
      {!canReadAnalytics ? (
        <NeedsScope scope="analytics:read" />
      ) : query.isPending ? (
        <Loading />
      ) : query.error ? (
        <ErrorMessage error={query.error} retry={() => void query.refetch()} />
      ) : steps.length === 0 ? (
        <Empty>No step ran in this window.</Empty>
      ) : (
        <>
          <div className="grid grid--two">
            <Panel title="Share of step time" id="share">
              <BarChart
                label="Share of total step time per step"
                max={1}
                data={top.map((s, i) => ({
                  key: key(s),
                  label: label(s),
                  value: s.share_of_time,
                  display: formatPercent(s.share_of_time),
                  tone: i === 0 ? 'top' : undefined,
                }))}
              />
            </Panel>
            <Panel title="p95 duration" id="p95">
              <BarChart
                label="95th percentile duration per step"
                data={[...top]
                  .sort((a, b) => (b.p95_seconds ?? 0) - (a.p95_seconds ?? 0))
                  .map((s) => ({
                    key: key(s),
                    label: label(s),
                    value: s.p95_seconds ?? 0,
                    display: formatDuration(s.p95_seconds),
                  }))}
              />
            </Panel>
          </div>
          <Panel title="Per step" id="table">
            <div className="table-wrap">
              <table className={`table${query.isPlaceholderData ? ' is-stale' : ''}`}>
                <caption className="sr-only">Step statistics, slowest share first</caption>
                <thead>
                  <tr>
                    <th scope="col" className="num">
                      Rank
                    </th>
                    <th scope="col">Step</th>
                    <th scope="col">Task</th>
                    <th scope="col" className="num">
                      Executions
                    </th>
                    <th scope="col" className="num">
                      Attempts
                    </th>
                    <th scope="col" className="num">
                      p50
                    </th>
                    <th scope="col" className="num">
                      p95
                    </th>
                    <th scope="col" className="num">
                      p99
                    </th>
                    <th scope="col" className="num">
                      Total time
                    </th>
                    <th scope="col" className="num">
                      Share
                    </th>
                    <th scope="col" className="num">
                      Failure rate
                    </th>
                    <th scope="col" className="num">
                      Retry rate
                    </th>
                    <th scope="col" className="num">
                      Timeouts
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {steps.map((s) => (
                    <tr key={key(s)}>
                      <td className="num">{s.rank}</td>
                      <td className="mono">{s.step}</td>
                      <td>
                        {s.namespace}.{s.name}
                      </td>
                      <td className="num">{formatCount(s.executions)}</td>
                      <td className="num">{formatCount(s.attempts)}</td>
                      <td className="num">{formatDuration(s.p50_seconds)}</td>
                      <td className="num">{formatDuration(s.p95_seconds)}</td>
                      <td className="num">{formatDuration(s.p99_seconds)}</td>
                      <td className="num">{formatDuration(s.total_seconds)}</td>
                      <td className="num">{formatPercent(s.share_of_time)}</td>
                      <td className={`num${s.failure_rate > 0 ? ' text-danger' : ''}`}>
                        {formatPercent(s.failure_rate, 1)}
                      </td>
                      <td className={`num${s.retry_rate > 0 ? ' text-warn' : ''}`}>
                        {formatPercent(s.retry_rate, 1)}
                      </td>
                      <td className={`num${s.timeouts > 0 ? ' text-danger' : ''}`}>
                        {formatCount(s.timeouts)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p className="muted small">
              {formatCount(query.data.sample.tasks_examined)} tasks examined
              {query.data.sample.truncated ? ' (sample truncated: the newest tasks only)' : ''} ·{' '}
              {query.data.time_range}
            </p>
          </Panel>
        </>
      )}
    </div>
  );
}
