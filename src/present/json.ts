/**
 * JSON presentation of tasks and steps for scripts (`--json`) and, later, the HTTP API: snake_case keys,
 * ISO-8601 times, durations in seconds. User data (context, results) goes through the redactor.
 */
import type { Redactor } from '../core/redact.js';
import type { AttemptRecord, TaskRecord, TransitionRecord } from '../core/records.js';
import { stateWord, stepStatusWord, taskStatusWord } from '../core/status-words.js';
import type { StepDescription, TaskDescription } from '../core/task-description.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const secs = (ms: number | null): number | null => (ms === null ? null : ms / 1000);

export function taskJson(t: TaskRecord, redactor: Redactor) {
  return {
    id: t.id,
    namespace: t.namespace,
    name: t.name,
    version: t.version,
    full_name: `${t.namespace}.${t.name}@${t.version}`,
    status: taskStatusWord(t.status),
    correlation_id: t.correlationId,
    idempotency_key: t.idempotencyKey,
    tags: t.tags,
    context: redactor.redact(t.context),
    created_at: iso(t.createdAt),
    started_at: iso(t.startedAt),
    finished_at: iso(t.finishedAt),
    duration_seconds: t.finishedAt === null ? null : (t.finishedAt - t.createdAt) / 1000,
  };
}

export function stepJson(s: StepDescription, redactor: Redactor) {
  return {
    name: s.name,
    handler: s.handler,
    status: stepStatusWord(s.status),
    display_status: stepStatusWord(s.displayStatus),
    depends_on: s.dependsOn,
    attempts: s.attempts,
    max_attempts: s.maxAttempts,
    started_at: iso(s.startedAt),
    finished_at: iso(s.finishedAt),
    execution_time_seconds: secs(s.executionTimeMs),
    error_message: s.errorMessage,
    error_type: s.errorType,
    blocked_by: s.blockedBy,
    next_attempt_at: s.status === 'waiting_for_retry' ? iso(s.readyAt) : null,
    results: redactor.redact(s.results),
  };
}

export function attemptJson(a: AttemptRecord) {
  return {
    step_name: a.stepName,
    attempt: a.attempt,
    outcome: a.outcome,
    started_at: iso(a.startedAt),
    finished_at: iso(a.finishedAt),
    duration_seconds: a.durationMs / 1000,
    error_message: a.errorMessage,
    error_type: a.errorType,
    worker_id: a.workerId,
  };
}

export function transitionJson(t: TransitionRecord) {
  return {
    step_name: t.stepName,
    from: stateWord(t.fromState),
    to: stateWord(t.toState),
    at: iso(t.at),
    attempt: t.attempt,
    reason: t.reason,
    error_type: t.errorType,
  };
}

export function taskDetailJson(
  d: TaskDescription,
  attempts: AttemptRecord[],
  transitions: TransitionRecord[],
  redactor: Redactor,
) {
  return {
    ...taskJson(d.task, redactor),
    failed_steps: d.failedSteps,
    blocked_steps: d.blockedSteps,
    bottleneck_step: d.bottleneckStep,
    steps: d.steps.map((s) => stepJson(s, redactor)),
    attempts: attempts.map(attemptJson),
    transitions: transitions.map(transitionJson),
  };
}
