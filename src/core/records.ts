/**
 * The persisted shape of tasks, steps, attempts and transitions, in domain form (camelCase, JSON parsed,
 * times as epoch milliseconds). Store adapters map rows to these; everything above the store uses them.
 */
import type { StepState, TaskState } from './states.js';
import type { BusinessFields, RetryPolicy } from './template.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface TaskRecord {
  id: string;
  namespace: string;
  name: string;
  version: string;
  status: TaskState;
  context: Record<string, unknown>;
  correlationId: string;
  idempotencyKey: string | null;
  tags: string[];
  business: BusinessFields | null;
  /** The W3C traceparent the task was created under (its trace's parent), if any. */
  traceparent: string | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface StepRecord {
  id: number;
  taskId: string;
  name: string;
  /** Index in the template's topological order: the order steps are shown and claimed. */
  position: number;
  handler: string;
  status: StepState;
  dependsOn: string[];
  /** Attempts started so far (absolute; never reset, so attempt numbers stay unique for fencing). */
  attempts: number;
  /** Absolute attempt number the step may reach; a task retry raises it by the policy's max attempts. */
  attemptLimit: number;
  retry: RetryPolicy;
  timeoutMs: number | null;
  handlerConfig: Record<string, unknown>;
  /** Non-null exactly when the step may be claimed at or after this instant. */
  readyAt: number | null;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  /** While in_progress: when the running attempt became claimable (its ready_at at the claim); else null. */
  queuedAt: number | null;
  /** When the current (or last) attempt started. */
  startedAt: number | null;
  /** When the step reached complete / error / resolved_manually / cancelled. */
  finishedAt: number | null;
  results: unknown;
  errorMessage: string | null;
  errorType: string | null;
}

export type AttemptOutcome = 'complete' | 'retry' | 'error' | 'cancelled';

export interface AttemptRecord {
  taskId: string;
  stepId: number;
  stepName: string;
  attempt: number;
  /** When the attempt became claimable: queue wait is startedAt − queuedAt; null for older rows. */
  queuedAt: number | null;
  startedAt: number;
  finishedAt: number;
  durationMs: number;
  outcome: AttemptOutcome;
  errorMessage: string | null;
  errorType: string | null;
  workerId: string | null;
}

export interface TransitionRecord {
  taskId: string;
  /** null for a task-level transition */
  stepName: string | null;
  fromState: string | null;
  toState: string;
  at: number;
  attempt: number | null;
  reason: string | null;
  errorType: string | null;
}

export interface TaskSnapshot {
  task: TaskRecord;
  steps: StepRecord[];
}

export type NewStepRecord = Omit<StepRecord, 'id'>;

/** The rows of a task about to be inserted (step ids are assigned by the store). */
export interface TaskCreatedDraft {
  task: TaskRecord;
  steps: NewStepRecord[];
  transition: TransitionRecord;
}
