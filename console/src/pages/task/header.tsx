import { useAuth } from '../../auth/auth';
import type { ReactNode } from 'react';
import type { TaskDetail } from '../../api/types';
import { CopyButton } from '../../components/copy-button';
import { StatusBadge } from '../../components/status';
import { DateTime, RelativeTime } from '../../components/time';
import { config } from '../../config';
import { elapsedSeconds, endedAt, formatDuration, formatMoney } from '../../lib/format';
import { paths } from '../../lib/routes';
import { emptyFilters, listSearch, type TaskFilters } from '../../lib/task-filters';
import { traceLink } from '../../lib/trace-link';
import { Link } from '../../router';

function Fact({ label, children, wide = false }: { label: string; children: ReactNode; wide?: boolean }) {
  return (
    <div className={wide ? 'fact fact--id' : 'fact'}>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function TraceId({ traceId }: { traceId: string | null | undefined }) {
  const { principal } = useAuth();
  if (!traceId) return <span className="muted">—</span>;
  const link = traceLink(principal.trace_url ?? config.trace_url, traceId);
  return (
    <span className="inline-actions">
      {link ? (
        <a href={link} target="_blank" rel="noopener noreferrer" className="mono">
          {traceId}
        </a>
      ) : (
        <span className="mono">{traceId}</span>
      )}
      <CopyButton text={traceId} label="Copy" />
    </span>
  );
}

/** Past its SLA: as the API said, or since then while it keeps running (the page ticks with `now`). */
function overSla(task: TaskDetail, now: number): boolean {
  const sla = task.sla;
  if (!sla) return false;
  if (sla.over_sla) return true;
  const created = Date.parse(task.created_at);
  return !endedAt(task) && task.status !== 'cancelled' && (now - created) / 1000 > sla.sla_seconds;
}

export function TaskHeader({ task, now, actions }: { task: TaskDetail; now: number; actions: ReactNode }) {
  const listBy = (filters: Partial<TaskFilters>) =>
    paths.tasks(listSearch({ filters: { ...emptyFilters(), ...filters }, cursor: null }));
  const business = task.business_context;
  const ended = endedAt(task);
  return (
    <section className="task-header" aria-labelledby="task-title">
      <div className="task-header__top">
        <div>
          <nav className="breadcrumb" aria-label="Breadcrumb">
            <Link to={paths.tasks()}>Tasks</Link> <span aria-hidden="true">›</span>{' '}
            <Link to={listBy({ namespace: task.namespace, name: task.name })}>
              {task.namespace}.{task.name}
            </Link>
          </nav>
          <h1 id="task-title" className="task-header__title">
            <span>{task.full_name}</span> <StatusBadge status={task.status} />{' '}
            {overSla(task, now) && (
              <span className="badge badge--ongoing" data-over-sla>
                over SLA
              </span>
            )}
          </h1>
        </div>
        <div className="task-header__actions">{actions}</div>
      </div>
      <dl className="facts-grid">
        <Fact label="Task id" wide>
          <span className="inline-actions">
            <span className="mono">{task.id}</span>
            <CopyButton text={task.id} />
          </span>
        </Fact>
        <Fact label="Correlation id">
          {task.correlation_id ? (
            <span className="inline-actions">
              <Link
                to={listBy({ correlation_id: task.correlation_id })}
                className="mono"
                title="All tasks with this correlation id"
              >
                {task.correlation_id}
              </Link>
              <CopyButton text={task.correlation_id} />
            </span>
          ) : (
            <span className="muted">—</span>
          )}
        </Fact>
        <Fact label="Trace id" wide>
          <TraceId traceId={task.trace_id} />
        </Fact>
        <Fact label="Duration">{formatDuration(elapsedSeconds(task, now))}</Fact>
        {task.sla && (
          <Fact label="SLA">
            {formatDuration(task.sla.sla_seconds)}{' '}
            <span className={overSla(task, now) ? 'text-danger strong' : 'muted small'}>
              {overSla(task, now) ? 'over' : ended ? 'met' : 'within so far'}
            </span>
          </Fact>
        )}
        <Fact label="Created">
          <RelativeTime iso={task.created_at} />{' '}
          <span className="muted small">
            · <DateTime iso={task.created_at} />
          </span>
        </Fact>
        <Fact label="Started">
          {task.started_at ? <DateTime iso={task.started_at} /> : <span className="muted">not yet</span>}
        </Fact>
        <Fact
          label={task.status === 'failed' ? 'Failed' : task.status === 'cancelled' ? 'Cancelled' : 'Ended'}
        >
          {ended ? <DateTime iso={ended} /> : <span className="muted">still running</span>}
        </Fact>
        <Fact label="Tags">
          {task.tags.length ? (
            task.tags.map((tag) => (
              <Link key={tag} to={listBy({ tag })} className="tag">
                {tag}
              </Link>
            ))
          ) : (
            <span className="muted">none</span>
          )}
        </Fact>
        {business && (
          <>
            <Fact label="Value">{business.value === null ? '—' : formatMoney(business.value)}</Fact>
            <Fact label="Tier">{business.tier ?? '—'}</Fact>
            <Fact label="Region">{business.region ?? '—'}</Fact>
            <Fact label="Customer">
              <span className="mono">{business.customer ?? '—'}</span>
            </Fact>
          </>
        )}
        {task.failure_impact && (
          <Fact label="Revenue at risk">
            <span className={task.failure_impact.revenue_at_risk ? 'text-danger strong' : undefined}>
              {formatMoney(task.failure_impact.revenue_at_risk)}
            </span>{' '}
            <span className="muted small">({task.failure_impact.category})</span>
          </Fact>
        )}
      </dl>
    </section>
  );
}
