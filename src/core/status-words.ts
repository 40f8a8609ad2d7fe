/**
 * The words people read for a task's or a step's status: the seed's (`completed`, `failed`, …). The store
 * keeps Tasker's words (`complete`, `error`); everything shown to a person or a script (API, CLI text and
 * --json) speaks these, and a filter accepts either. Pure.
 */
import type { StepState, TaskState } from './states.js';
import type { StepDisplayStatus } from './task-description.js';

/** A task's status as people and scripts read it. */
export type TaskStatusWord =
  'pending' | 'in_progress' | 'completed' | 'failed' | 'cancelled' | 'resolved_manually';
/** A step's: a task's words, and `waiting_for_retry` and `blocked`. */
export type StepStatusWord = TaskStatusWord | 'waiting_for_retry' | 'blocked';

const TASK_STATUS_WORD: Readonly<Record<TaskState, TaskStatusWord>> = Object.freeze({
  pending: 'pending',
  in_progress: 'in_progress',
  complete: 'completed',
  error: 'failed',
  cancelled: 'cancelled',
  resolved_manually: 'resolved_manually',
});

const STEP_STATUS_WORD: Readonly<Record<StepState, StepStatusWord>> = Object.freeze({
  ...TASK_STATUS_WORD,
  waiting_for_retry: 'waiting_for_retry',
});

export const taskStatusWord = (s: TaskState): TaskStatusWord => TASK_STATUS_WORD[s];
/** A step's word; `blocked` for a pending step that cannot run because a step upstream failed. */
export const stepStatusWord = (s: StepState | StepDisplayStatus): StepStatusWord =>
  s === 'blocked' ? 'blocked' : STEP_STATUS_WORD[s];

/** A transition row's state (a task's or a step's), as a word; null (a creation's `from`) stays null. */
export const stateWord = (s: string | null): string | null =>
  s === null ? null : ((STEP_STATUS_WORD as Record<string, string>)[s] ?? s);

/** Status words (and the stored ones, accepted as aliases) → stored task states. */
export const TASK_STATUS_FILTER: Readonly<Record<TaskState | TaskStatusWord, TaskState>> = Object.freeze({
  pending: 'pending',
  in_progress: 'in_progress',
  completed: 'complete',
  complete: 'complete',
  failed: 'error',
  error: 'error',
  cancelled: 'cancelled',
  resolved_manually: 'resolved_manually',
});

/** The stored state a filter word (or a stored word) names; undefined for anything else. */
export const taskStateOf = (word: string): TaskState | undefined =>
  Object.hasOwn(TASK_STATUS_FILTER, word) ? TASK_STATUS_FILTER[word as TaskState] : undefined;

/** The words a filter names in its help and errors (the aliases work but are not advertised). */
export const TASK_STATUS_WORDS: readonly TaskStatusWord[] = Object.values(TASK_STATUS_WORD);
