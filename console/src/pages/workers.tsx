import { useWorkers } from '../api/queries';
import { Empty, ErrorMessage, Loading } from '../components/feedback';
import { Panel, Stat } from '../components/panel';
import { StatusBadge } from '../components/status';
import { RelativeTime } from '../components/time';
import { formatCount } from '../lib/format';
import { useTitle } from './use-title';

/** Heartbeats age in seconds, so this page refreshes itself (workers are few; this is not the task list). */
const REFRESH_MS = 10_000;

export function WorkersPage() {
  useTitle('Workers');
  const workers = useWorkers(REFRESH_MS);
  const data = workers.data;
  const lost = data?.workers.filter((w) => w.status === 'lost') ?? [];

  return (
    <div className="page">
      <div className="page__head">
        <h1 className="page__title">Workers</h1>
        <span className="muted">live ones, and those stopped or lost in the last hour</span>
      </div>
      {workers.isPending ? (
        <Loading />
      ) : workers.error ? (
        <ErrorMessage error={workers.error} retry={() => void workers.refetch()} />
      ) : data ? (
        <>
          <div className="stats-row">
            <Stat
              label="live workers"
              value={formatCount(data.live_workers)}
              tone={data.live_workers === 0 ? 'bad' : undefined}
            />
            <Stat
              label="slots in use"
              value={`${formatCount(data.slots_in_use)} / ${formatCount(data.slots_total)}`}
              tone={data.slots_total > 0 && data.slots_in_use >= data.slots_total ? 'warn' : undefined}
            />
            <Stat
              label="ready backlog (steps)"
              value={formatCount(data.ready_backlog)}
              tone={data.ready_backlog > 0 ? 'warn' : undefined}
            />
            <Stat
              label="lost workers"
              value={formatCount(lost.length)}
              tone={lost.length ? 'bad' : undefined}
            />
          </div>
          {lost.length > 0 && (
            <p className="error-box" role="alert">
              {lost.length} {lost.length === 1 ? 'worker stopped' : 'workers stopped'} sending heartbeats
              without shutting down: {lost.map((w) => w.id).join(', ')}. Their in-flight steps are recovered
              when their leases expire.
            </p>
          )}
          <Panel title="Workers" id="workers">
            {data.workers.length === 0 ? (
              <Empty>No worker has reported in the last hour.</Empty>
            ) : (
              <div className="table-wrap">
                <table className="table">
                  <caption className="sr-only">Workers</caption>
                  <thead>
                    <tr>
                      <th scope="col">Status</th>
                      <th scope="col">Worker id</th>
                      <th scope="col">Host</th>
                      <th scope="col" className="num">
                        PID
                      </th>
                      <th scope="col">Version</th>
                      <th scope="col" className="num">
                        In flight
                      </th>
                      <th scope="col" className="num">
                        Concurrency
                      </th>
                      <th scope="col">Last heartbeat</th>
                      <th scope="col">Started</th>
                      <th scope="col">Handlers</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.workers.map((w) => (
                      <tr
                        key={w.id}
                        className={
                          w.status === 'lost'
                            ? 'row--lost'
                            : w.status === 'stopped'
                              ? 'row--muted'
                              : undefined
                        }
                      >
                        <td>
                          <StatusBadge status={w.status} />
                        </td>
                        <td className="mono small">{w.id}</td>
                        <td>{w.host}</td>
                        <td className="num">{w.pid}</td>
                        <td className="mono small">{w.version}</td>
                        <td className="num">{w.in_flight}</td>
                        <td className="num">{w.concurrency}</td>
                        <td>
                          <RelativeTime iso={w.last_heartbeat_at} />
                        </td>
                        <td>
                          <RelativeTime iso={w.started_at} />
                          {w.stopped_at && (
                            <div className="muted small">
                              stopped <RelativeTime iso={w.stopped_at} />
                            </div>
                          )}
                        </td>
                        <td className="small wrap">
                          {w.handlers.map((h) => (
                            <span key={h} className="tag mono">
                              {h}
                            </span>
                          ))}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </Panel>
        </>
      ) : null}
    </div>
  );
}
