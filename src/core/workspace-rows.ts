/**
 * What a TaskWorkspace hands the store adapters after its operations: fenced row writes, transitions,
 * attempts and events, and the attempt row it records for a finished (or cancelled) attempt.
 */
import type { TaskerEvent } from '../events/catalog.js';
import type { AttemptRecord, StepRecord, TaskRecord, TransitionRecord } from './records.js';
import type { StepState, TaskState } from './states.js';

export interface StepWrite {
  record: StepRecord;
  /** Status and attempt count as loaded: the adapter's UPDATE is fenced on them. */
  expectStatus: StepState;
  expectAttempts: number;
}

export interface WorkspaceChanges {
  task: { record: TaskRecord; expectStatus: TaskState } | null;
  steps: StepWrite[];
  transitions: TransitionRecord[];
  attempts: AttemptRecord[];
  events: TaskerEvent[];
}

export type OutcomeResult = { applied: true } | { applied: false; reason: string };

export function attemptRow(
  step: StepRecord,
  attempt: number,
  startedAt: number,
  finishedAt: number,
  outcome: AttemptRecord['outcome'],
  errorMessage: string | null,
  errorType: string | null,
  workerId: string | null,
): AttemptRecord {
  return {
    taskId: step.taskId,
    stepId: step.id,
    stepName: step.name,
    attempt,
    // The step's queued_at belongs to its current attempt: the one being recorded.
    queuedAt: attempt === step.attempts ? step.queuedAt : null,
    startedAt,
    finishedAt,
    durationMs: finishedAt - startedAt,
    outcome,
    errorMessage,
    errorType,
    workerId,
  };
}
