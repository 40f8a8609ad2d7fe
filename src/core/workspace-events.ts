/**
 * The payloads of the lifecycle events a TaskWorkspace records (docs/events.md). Each is one object
 * literal, no spread of a shared base: payload building is a visible share of a busy cycle.
 */
import { taskStatusWord } from './status-words.js';
import type { StepEventName, StepEventPayload, TaskEventName, TaskEventPayload } from '../events/catalog.js';
import type { StepRecord, TaskRecord } from './records.js';
import { attemptBudget } from './retry.js';
import { SATISFIED_STEP_STATES, type TaskState } from './states.js';
import type { TaskTraceContext } from './trace-context.js';

export interface TaskEventExtras {
  terminal?: boolean;
  reason?: string | null;
}

export interface StepEventExtras {
  duration?: number;
  error?: { message: string; errorType: string };
  nextAttemptAt?: number;
  blockedBy?: string[];
  results?: unknown;
  queueWait?: number | null;
  spanId?: string | undefined;
}

export function taskEventPayload(
  name: TaskEventName,
  t: TaskRecord,
  steps: readonly StepRecord[],
  loadedStatus: TaskState,
  trace: TaskTraceContext,
  at: number,
  opts: TaskEventExtras,
): TaskEventPayload {
  const payload: TaskEventPayload = {
    event: name,
    timestamp: new Date(at).toISOString(),
    task_id: t.id,
    task_name: t.name,
    namespace_name: t.namespace,
    task_version: t.version,
    correlation_id: t.correlationId,
    trace_id: trace.traceId,
    span_id: trace.spanId,
    status: taskStatusWord(t.status),
  };
  if (opts.reason !== undefined) payload.reason = opts.reason;
  if (opts.terminal) {
    const started = t.startedAt ?? t.createdAt;
    payload.execution_duration_seconds = (at - started) / 1000;
    payload.created_at = new Date(t.createdAt).toISOString();
    payload.traceparent = t.traceparent;
    // The task failed before and was retried or resolved: this is a second end of the same task.
    payload.after_failure =
      name !== 'task.failed' &&
      (loadedStatus === 'error' || steps.some((s) => s.attemptLimit > attemptBudget(s.retry)));
    payload.total_steps = steps.length;
    payload.completed_steps = steps.filter((s) => SATISFIED_STEP_STATES.has(s.status)).length;
    payload.failed_steps = steps.filter((s) => s.status === 'error').length;
    payload.context = t.context;
  }
  return payload;
}

export function stepEventPayload(
  name: StepEventName,
  t: TaskRecord,
  step: StepRecord,
  trace: TaskTraceContext,
  at: number,
  extra: StepEventExtras,
): StepEventPayload {
  const payload: StepEventPayload = {
    event: name,
    timestamp: new Date(at).toISOString(),
    task_id: t.id,
    task_name: t.name,
    namespace_name: t.namespace,
    task_version: t.version,
    correlation_id: t.correlationId,
    trace_id: trace.traceId,
    span_id: extra.spanId ?? trace.spanId,
    step_name: step.name,
    attempt: step.attempts,
    max_attempts: step.attemptLimit,
    execution_duration_seconds: extra.duration === undefined ? null : extra.duration / 1000,
    error_message: extra.error?.message ?? null,
    error_type: extra.error?.errorType ?? null,
  };
  if (extra.queueWait !== undefined)
    payload.queue_wait_seconds = extra.queueWait === null ? null : extra.queueWait / 1000;
  if (extra.nextAttemptAt !== undefined)
    payload.next_attempt_at = new Date(extra.nextAttemptAt).toISOString();
  if (extra.blockedBy) payload.blocked_by = extra.blockedBy;
  if (name === 'step.resolved_manually') payload.results = extra.results;
  return payload;
}
