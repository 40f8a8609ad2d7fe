/**
 * What a bulk action does to one task, decided by running the action itself on an in-memory workspace:
 * a dry run and the real run share this code, so the preview cannot drift from what happens. Pure.
 */
import { TaskerError } from '../errors.js';
import type { TaskSnapshot } from './records.js';
import { SATISFIED_STEP_STATES, TERMINAL_TASK_STATES } from './states.js';
import { TaskWorkspace } from './task-workspace.js';

export type BulkActionSpec =
  { action: 'retry' } | { action: 'cancel' } | { action: 'resolve_step'; step: string; results: unknown };

export type SkipReason = 'not_failed' | 'already_finished' | 'no_such_step' | 'step_done' | 'not_visible';

export type TaskPlan =
  | {
      applies: true;
      /** retry: steps that run again; resolve_step: the resolved step; cancel: running steps aborted. */
      first: string[];
      /** retry: completed steps kept; resolve_step: steps it makes ready; cancel: steps that never run. */
      second: string[];
    }
  | { applies: false; reason: SkipReason; message: string };

/** Apply the action (throws the workspace's TaskerError when the task does not allow it). */
export function applyBulkAction(ws: TaskWorkspace, spec: BulkActionSpec, now: number, reason: string): void {
  switch (spec.action) {
    case 'retry':
      ws.retry(now, reason);
      return;
    case 'cancel':
      ws.cancel(now, reason);
      return;
    case 'resolve_step':
      ws.resolveStep(spec.step, spec.results, now);
      return;
  }
}

function skip(snap: TaskSnapshot, spec: BulkActionSpec): TaskPlan | null {
  const status = snap.task.status;
  if (spec.action === 'retry' && status !== 'error') {
    return {
      applies: false,
      reason: 'not_failed',
      message: `task is ${status}; only failed tasks are retried`,
    };
  }
  if (spec.action !== 'retry' && TERMINAL_TASK_STATES.has(status)) {
    return { applies: false, reason: 'already_finished', message: `task is ${status}` };
  }
  if (spec.action === 'resolve_step') {
    const step = snap.steps.find((s) => s.name === spec.step);
    if (!step) return { applies: false, reason: 'no_such_step', message: `task has no step "${spec.step}"` };
    if (SATISFIED_STEP_STATES.has(step.status) || step.status === 'cancelled')
      return { applies: false, reason: 'step_done', message: `step ${spec.step} is ${step.status}` };
  }
  return null;
}

export function planBulkTask(snap: TaskSnapshot, spec: BulkActionSpec, now: number): TaskPlan {
  const refused = skip(snap, spec);
  if (refused) return refused;
  const ws = new TaskWorkspace(snap, () => 0.5);
  try {
    applyBulkAction(ws, spec, now, 'dry run');
  } catch (err) {
    if (!(err instanceof TaskerError)) throw err;
    return { applies: false, reason: 'already_finished', message: err.message };
  }
  const before = new Map(snap.steps.map((s) => [s.name, s]));
  const after = ws.steps;
  switch (spec.action) {
    case 'retry':
      return {
        applies: true,
        first: after.filter((s) => !SATISFIED_STEP_STATES.has(s.status)).map((s) => s.name),
        second: after.filter((s) => SATISFIED_STEP_STATES.has(s.status)).map((s) => s.name),
      };
    case 'cancel':
      return {
        applies: true,
        first: snap.steps.filter((s) => s.status === 'in_progress').map((s) => s.name),
        second: snap.steps
          .filter((s) => s.status === 'pending' || s.status === 'waiting_for_retry')
          .map((s) => s.name),
      };
    case 'resolve_step':
      return {
        applies: true,
        first: [spec.step],
        second: after
          .filter((s) => s.readyAt !== null && (before.get(s.name)?.readyAt ?? null) === null)
          .map((s) => s.name),
      };
  }
}
