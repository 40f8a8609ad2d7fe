/**
 * Records → the API's JSON (snake_case, the seed's shapes and status words). Everything a client sees of a
 * task goes through here, so redaction happens in exactly one place.
 */
import type { DependencyAnalysis } from '../core/analysis.js';
import type { Redactor } from '../core/redact.js';
import type { AttemptRecord, TaskRecord, TransitionRecord } from '../core/records.js';
import type { StepState, TaskState } from '../core/states.js';
import type { StepDescription, TaskDescription } from '../core/task-description.js';

/** Internal state → the word the API (and the seed) uses. */
const TASK_STATUS: Record<TaskState, string> = {
  pending: 'pending',
  in_progress: 'in_progress',
  complete: 'completed',
  error: 'failed',
  cancelled: 'cancelled',
  resolved_manually: 'resolved_manually',
};
const STEP_STATUS: Record<StepState, string> = { ...TASK_STATUS, waiting_for_retry: 'waiting_for_retry' };

/** API status words (and the internal ones, accepted as aliases) → internal task states. */
export const TASK_STATUS_FILTER: Readonly<Record<string, TaskState>> = Object.freeze({
  pending: 'pending',
  in_progress: 'in_progress',
  completed: 'complete',
  complete: 'complete',
  failed: 'error',
  error: 'error',
  cancelled: 'cancelled',
  resolved_manually: 'resolved_manually',
});

export const apiTaskStatus = (s: TaskState): string => TASK_STATUS[s];

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
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
  const status = TASK_STATUS[t.status];
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

export function presentStep(s: StepDescription): Record<string, unknown> {
  const status = s.displayStatus === 'blocked' ? 'blocked' : STEP_STATUS[s.status];
  const out: Record<string, unknown> = {
    name: s.name,
    handler: s.handler,
    status,
    depends_on: s.dependsOn,
    execution_time_seconds: seconds(s.executionTimeMs),
    attempts: s.attempts,
    max_attempts: s.maxAttempts,
    retry_attempts: Math.max(0, s.attempts - 1),
    started_at: iso(s.startedAt),
  };
  const end = endField(STEP_STATUS[s.status]);
  if (end) out[end] = iso(s.finishedAt);
  out.error_message = s.errorMessage;
  out.error_type = s.errorType;
  if (s.blockedBy.length > 0) out.blocked_by = s.blockedBy;
  return out;
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
    steps: d.steps.map(presentStep),
  };
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
    from_state: t.fromState,
    to_state: t.toState,
    attempt: t.attempt,
    reason: t.reason,
    error_type: t.errorType,
  };
}
