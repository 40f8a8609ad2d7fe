/**
 * Task and step state machines. Tasker's six states plus `waiting_for_retry` for a step whose failed
 * attempt will be retried after its backoff (so "failed for good" and "will try again" never look alike).
 * `blocked` is not stored: a pending step downstream of an `error` step is reported as blocked.
 */
import { TaskerError } from '../errors.js';

export const TASK_STATES = [
  'pending',
  'in_progress',
  'complete',
  'error',
  'cancelled',
  'resolved_manually',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const STEP_STATES = [
  'pending',
  'in_progress',
  'waiting_for_retry',
  'complete',
  'error',
  'cancelled',
  'resolved_manually',
] as const;
export type StepState = (typeof STEP_STATES)[number];

const TASK_TRANSITIONS: Record<TaskState, readonly TaskState[]> = {
  pending: ['in_progress', 'cancelled'],
  in_progress: ['complete', 'error', 'cancelled'],
  // error -> pending: an operator retry or a manual step resolution lets the task run again.
  error: ['pending', 'resolved_manually', 'cancelled'],
  complete: [],
  cancelled: [],
  resolved_manually: [],
};

const STEP_TRANSITIONS: Record<StepState, readonly StepState[]> = {
  pending: ['in_progress', 'cancelled', 'resolved_manually'],
  in_progress: ['complete', 'error', 'waiting_for_retry', 'cancelled'],
  waiting_for_retry: ['in_progress', 'cancelled', 'resolved_manually'],
  complete: [],
  // error -> pending: task retry grants a fresh attempt budget.
  error: ['pending', 'resolved_manually', 'cancelled'],
  cancelled: [],
  resolved_manually: [],
};

export const TERMINAL_TASK_STATES: ReadonlySet<TaskState> = new Set([
  'complete',
  'cancelled',
  'resolved_manually',
]);
/** States in which a step's results satisfy its dependants. */
export const SATISFIED_STEP_STATES: ReadonlySet<StepState> = new Set(['complete', 'resolved_manually']);

export function canTransitionTask(from: TaskState, to: TaskState): boolean {
  return TASK_TRANSITIONS[from].includes(to);
}

export function canTransitionStep(from: StepState, to: StepState): boolean {
  return STEP_TRANSITIONS[from].includes(to);
}

export function assertTaskTransition(from: TaskState, to: TaskState, taskId: string): void {
  if (!canTransitionTask(from, to)) {
    throw new TaskerError('ILLEGAL_TRANSITION', `task ${taskId}: cannot go from ${from} to ${to}`, {
      taskId,
      from,
      to,
      allowed: TASK_TRANSITIONS[from],
    });
  }
}

export function assertStepTransition(from: StepState, to: StepState, taskId: string, step: string): void {
  if (!canTransitionStep(from, to)) {
    throw new TaskerError(
      'ILLEGAL_TRANSITION',
      `task ${taskId} step ${step}: cannot go from ${from} to ${to}`,
      {
        taskId,
        step,
        from,
        to,
        allowed: STEP_TRANSITIONS[from],
      },
    );
  }
}

export function isTaskState(v: string): v is TaskState {
  return (TASK_STATES as readonly string[]).includes(v);
}
