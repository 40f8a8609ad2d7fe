/**
 * Structured logging of the lifecycle: one JSON line per event at a level that fits it (failures error,
 * retries and timeouts warn, ends info, the high-volume starts and completions debug). Subscribes only
 * to the events its logger's level lets through, so an info-level engine never builds the per-step ones.
 * An ordinary subscriber: it sees what event sampling and filtering leave, already redacted.
 */
import type { Level, Logger } from 'pino';
import type { EventBus } from '../events/bus.js';
import type {
  MemoryHighPayload,
  SlowStepPayload,
  StepEventPayload,
  TaskEventPayload,
  TaskerEvent,
} from '../events/catalog.js';

/** Any payload's fields, all optional (a memory event has no task). */
type AnyPayload = Partial<
  Omit<StepEventPayload & TaskEventPayload & SlowStepPayload, 'task_id'> & Omit<MemoryHighPayload, 'task_id'>
> & { task_id?: string | undefined };

const LEVEL_OF: Record<string, Level> = {
  'task.created': 'debug',
  'task.started': 'debug',
  'task.completed': 'info',
  'task.failed': 'error',
  'task.cancelled': 'info',
  'task.retry_requested': 'info',
  'task.resolved_manually': 'info',
  'step.started': 'debug',
  'step.completed': 'debug',
  'step.failed': 'error',
  'step.retry_scheduled': 'warn',
  'step.timed_out': 'warn',
  'step.max_retries_reached': 'error',
  'step.resolved_manually': 'info',
  'step.blocked': 'warn',
  'step.cancelled': 'debug',
  'observability.step.slow': 'warn',
  'observability.memory.high': 'warn',
};

function messageOf(e: TaskerEvent): string {
  const p = e.payload as AnyPayload;
  const task = `${p.namespace_name}.${p.task_name}`;
  const err = p.error_type ? `: ${p.error_type}: ${p.error_message ?? ''}` : '';
  switch (e.name) {
    case 'observability.step.slow':
      return `step ${p.step_name} of ${task} took ${p.execution_duration_seconds} s (threshold ${p.threshold_seconds} s)`;
    case 'observability.memory.high':
      return `resident memory ${p.rss_mb} MB is above ${p.threshold_mb} MB`;
    case 'step.retry_scheduled':
      return `step ${p.step_name} of ${task} failed (attempt ${p.attempt}/${p.max_attempts}), retry at ${p.next_attempt_at}${err}`;
    case 'step.blocked':
      return `step ${p.step_name} of ${task} blocked by failed ${(p.blocked_by ?? []).join(', ')}`;
    default:
      if (e.name.startsWith('step.'))
        return `step ${p.step_name} of ${task} ${e.name.slice(5).replace(/_/g, ' ')}${err}`;
      return `task ${task} ${e.name.slice(5).replace(/_/g, ' ')}${p.reason ? `: ${p.reason}` : ''}`;
  }
}

/** The fields every line about a task carries, in the names the seed's log examples use. */
function fieldsOf(e: TaskerEvent): Record<string, unknown> {
  const p = e.payload as AnyPayload;
  const out: Record<string, unknown> = { event: e.name };
  if (p.task_id !== undefined) {
    out.correlation_id = p.correlation_id;
    out.task_id = p.task_id;
    out.namespace = p.namespace_name;
    out.task_name = p.task_name;
    out.task_version = p.task_version;
  }
  if (p.step_name !== undefined) {
    out.step_name = p.step_name;
    out.attempt = p.attempt;
  }
  if (p.trace_id !== undefined) {
    out.trace_id = p.trace_id;
    out.span_id = p.span_id;
  }
  for (const k of [
    'status',
    'execution_duration_seconds',
    'queue_wait_seconds',
    'error_type',
    'error_message',
    'next_attempt_at',
    'blocked_by',
    'reason',
    'threshold_seconds',
    'threshold_source',
    'rss_mb',
    'heap_used_mb',
    'threshold_mb',
  ] as const) {
    const v = p[k];
    if (v !== undefined && v !== null) out[k === 'execution_duration_seconds' ? 'duration_seconds' : k] = v;
  }
  return out;
}

export function attachEventLog(bus: EventBus, logger: Logger): () => void {
  const names = Object.keys(LEVEL_OF).filter((n) => logger.isLevelEnabled(LEVEL_OF[n] ?? 'info'));
  if (names.length === 0) return () => {};
  return bus.subscribe(
    names,
    (e) => {
      const level = LEVEL_OF[e.name] ?? 'info';
      logger[level](fieldsOf(e), messageOf(e));
    },
    { name: 'structured-log' },
  );
}
