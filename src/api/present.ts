/**
 * Records → the API's JSON (snake_case, the seed's shapes and status words). Everything a client sees of a
 * task goes through here, so redaction happens in exactly one place.
 */
import type { DependencyAnalysis } from '../core/analysis.js';
import type { Redactor } from '../core/redact.js';
import type { AttemptRecord, TaskRecord, TransitionRecord } from '../core/records.js';
import type { StepWait } from '../core/step-waits.js';
import type { StepDescription, TaskDescription } from '../core/task-description.js';
import type { TaskSla } from '../core/task-sla.js';
import { stateWord, stepStatusWord, taskStatusWord } from '../core/status-words.js';
import { isoTime } from '../core/iso-time.js';
import { taskTraceContext } from '../core/trace-context.js';

export const apiTaskStatus = taskStatusWord;

export const iso = (ms: number | null): string | null => (ms === null ? null : isoTime(ms));
const seconds = (ms: number | null): number | null => (ms === null ? null : Math.round(ms) / 1000);

export function fullName(t: Pick<TaskRecord, 'namespace' | 'name' | 'version'>): string {
  return `${t.namespace}.${t.name}@${t.version}`;
}

/** Which end-of-life timestamp field a record carries, in the seed's naming. */
function endField(status: string): 'completed_at' | 'failed_at' | 'cancelled_at' | 'resolved_at' | null {
  switch (status) {
    case 'completed':
      return 'completed_at';
    case 'failed':
      return 'failed_at';
    case 'cancelled':
      return 'cancelled_at';
    case 'resolved_manually':
      return 'resolved_at';
    default:
      return null;
  }
}

export function presentTaskSummary(t: TaskRecord): Record<string, unknown> {
  const status = taskStatusWord(t.status);
  const out: Record<string, unknown> = {
    id: t.id,
    name: t.name,
    namespace: t.namespace,
    version: t.version,
    full_name: fullName(t),
    status,
    correlation_id: t.correlationId,
    idempotency_key: t.idempotencyKey,
    tags: t.tags,
    created_at: iso(t.createdAt),
    started_at: iso(t.startedAt),
    updated_at: iso(t.updatedAt),
  };
  const end = endField(status);
  if (end) out[end] = iso(t.finishedAt);
  return out;
}

export const apiStepStatus = (s: Pick<StepDescription, 'status' | 'displayStatus'>): string =>
  s.displayStatus === 'blocked' ? 'blocked' : stepStatusWord(s.status);

export function presentStep(s: StepDescription): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: s.name,
    handler: s.handler,
    status: apiStepStatus(s),
    depends_on: s.dependsOn,
    execution_time_seconds: seconds(s.executionTimeMs),
    attempts: s.attempts,
    max_attempts: s.maxAttempts,
    retry_attempts: Math.max(0, s.attempts - 1),
    timeout_seconds: seconds(s.timeoutMs),
    ready_at: iso(s.readyAt),
    queued_at: iso(s.queuedAt),
    started_at: iso(s.startedAt),
  };
  const end = endField(stepStatusWord(s.status));
  if (end) out[end] = iso(s.finishedAt);
  out.worker_id = s.status === 'in_progress' ? s.leaseOwner : null;
  out.lease_expires_at = s.status === 'in_progress' ? iso(s.leaseExpiresAt) : null;
  out.error_message = s.errorMessage;
  out.error_type = s.errorType;
  if (s.blockedBy.length > 0) out.blocked_by = s.blockedBy;
  return out;
}

/** One finished attempt, for the timeline: queue wait is started_at − queued_at. */
export function presentAttempt(a: AttemptRecord): Record<string, unknown> {
  return {
    step_name: a.stepName,
    attempt: a.attempt,
    queued_at: iso(a.queuedAt),
    started_at: iso(a.startedAt),
    finished_at: iso(a.finishedAt),
    duration_seconds: seconds(a.durationMs),
    outcome: a.outcome,
    error_type: a.errorType,
    error_message: a.errorMessage,
    worker_id: a.workerId,
  };
}

/** A step's wait reason: the evidence in snake_case, instants as ISO 8601, durations in seconds. */
export function presentWait(w: StepWait): Record<string, unknown> {
  const { reason, message } = w;
  switch (w.reason) {
    case 'waiting_for_dependency':
      return { reason, message, dependencies: w.dependencies };
    case 'no_free_slot':
    case 'queued':
      return {
        reason,
        message,
        ready_since: iso(w.readySince),
        backlog: w.backlog,
        ahead: w.ahead,
        slots_in_use: w.slotsInUse,
        slots_total: w.slotsTotal,
        live_workers: w.liveWorkers,
      };
    case 'no_worker_for_handler':
      return { reason, message, handler: w.handler, live_workers: w.liveWorkers };
    case 'retry_backoff':
      return {
        reason,
        message,
        until: iso(w.until),
        attempt: w.attempt,
        max_attempts: w.maxAttempts,
        last_error_type: w.lastErrorType,
        last_error_message: w.lastErrorMessage,
      };
    case 'running':
      return {
        reason,
        message,
        worker_id: w.workerId,
        running_seconds: seconds(w.runningMs),
        lease_expires_at: iso(w.leaseExpiresAt),
        timeout_seconds: seconds(w.timeoutMs),
        worker_alive: w.workerAlive,
      };
    case 'lease_expired':
      return { reason, message, worker_id: w.workerId, expired_at: iso(w.expiredAt) };
    case 'blocked_by_failure':
      return { reason, message, failed_steps: w.failedSteps };
    case 'failed':
      return {
        reason,
        message,
        error_type: w.errorType,
        error_message: w.errorMessage,
        attempts: w.attempts,
        max_attempts: w.maxAttempts,
      };
    case 'task_cancelled':
      return { reason, message };
  }
}

export interface BusinessContext {
  value: number | null;
  tier: string | null;
  region: string | null;
  customer: string | null;
}

/** The task's business fields, read from its context at the paths its template's `business` block names. */
export function businessContext(t: TaskRecord, redactor: Redactor): BusinessContext | null {
  const b = t.business;
  if (!b) return null;
  const read = (path: string | undefined): unknown => {
    if (!path) return undefined;
    let cur: unknown = t.context;
    for (const part of path.split('.')) {
      if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, part)) return undefined;
      cur = (cur as Record<string, unknown>)[part];
    }
    return cur;
  };
  const text = (path: string | undefined): string | null => {
    const v = read(path);
    if (path && redactor.isSensitive(path.split('.').pop() ?? path))
      return v === undefined ? null : redactor.mask;
    return typeof v === 'string' || typeof v === 'number' ? String(v) : null;
  };
  const raw = read(b.valueField);
  const value =
    typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  return {
    value: Number.isFinite(value) ? value : null,
    tier: text(b.tierField),
    region: text(b.regionField),
    customer: text(b.customerField),
  };
}

/** The dependency analysis as the list (include_dependencies) and the detail show it. */
export function presentDependencies(a: DependencyAnalysis): Record<string, unknown> {
  return {
    analysis: a.analysis,
    blocked_steps: a.blockedSteps,
    bottleneck_identified: a.bottleneckIdentified,
    bottleneck_step: a.bottleneckStep,
    critical_path: a.criticalPath,
    suggested_action: a.suggestedAction,
  };
}

export interface TaskDetailOptions {
  dependencies?: DependencyAnalysis | undefined;
  business?: boolean | undefined;
  /** Why each unfinished step waits (include_dependencies). */
  waits?: ReadonlyMap<string, StepWait> | undefined;
  /** Attempts, results and handler config (include_attempts). */
  attempts?: boolean | undefined;
  /** The task against its template's SLA; null when the template has none (or is not registered here). */
  sla?: TaskSla | null | undefined;
}

function presentSla(sla: TaskSla | null): Record<string, unknown> | null {
  return (
    sla && {
      sla_seconds: sla.slaSeconds,
      elapsed_seconds: Math.round(sla.elapsedSeconds * 1000) / 1000,
      over_sla: sla.overSla,
    }
  );
}

export function presentTaskDetail(
  d: TaskDescription,
  attempts: readonly AttemptRecord[],
  redactor: Redactor,
  opts: TaskDetailOptions = {},
): Record<string, unknown> {
  const { task } = d;
  const out: Record<string, unknown> = {
    ...presentTaskSummary(task),
    trace_id: taskTraceContext(task.id, task.traceparent).traceId,
    sla: presentSla(opts.sla ?? null),
    context: redactor.redact(task.context),
    performance_metrics: {
      total_execution_time_seconds: seconds(d.durationMs),
      steps_completed: d.steps.filter((s) => s.status === 'complete' || s.status === 'resolved_manually')
        .length,
      steps_failed: d.steps.filter((s) => s.status === 'error').length,
      retry_attempts: d.steps.reduce((n, s) => n + Math.max(0, s.attempts - 1), 0),
      attempts: attempts.length,
      bottleneck_step: d.bottleneckStep,
    },
    steps: d.steps.map((s) => {
      const step = presentStep(s);
      if (opts.attempts) {
        step.results = redactor.redact(s.results);
        step.handler_config = redactor.redact(s.handlerConfig);
      }
      const wait = opts.waits?.get(s.name);
      if (wait) step.wait = presentWait(wait);
      return step;
    }),
  };
  if (opts.attempts) out.attempts = attempts.map(presentAttempt);
  if (opts.dependencies) {
    const a = opts.dependencies;
    const { suggested_action, ...rest } = presentDependencies(a);
    out.dependencies = { ...rest, critical_path_seconds: seconds(a.criticalPathMs), suggested_action };
  }
  if (opts.business) {
    const bc = businessContext(task, redactor);
    out.business_context = bc;
    const failed = d.steps.find((s) => s.status === 'error');
    out.failure_impact =
      task.status === 'error'
        ? {
            category: bc?.value ? 'revenue_loss' : 'workflow_failure',
            revenue_at_risk: bc?.value ?? 0,
            failed_step: failed?.name ?? null,
            error_type: failed?.errorType ?? null,
          }
        : null;
  }
  return out;
}

export function presentTransition(t: TransitionRecord): Record<string, unknown> {
  return {
    at: iso(t.at),
    step_name: t.stepName,
    from_state: stateWord(t.fromState),
    to_state: stateWord(t.toState),
    attempt: t.attempt,
    reason: t.reason,
    error_type: t.errorType,
  };
}
