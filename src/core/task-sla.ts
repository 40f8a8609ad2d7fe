/**
 * Where a task stands against its template's SLA: how long it has taken since it was created (so far, while
 * it runs) and whether that is past the SLA. A cancelled task is never over: nobody waits for it any more,
 * and tasker_task_sla_breaches_total does not count it either. Pure.
 */
import type { TaskRecord } from './records.js';

export interface TaskSla {
  slaSeconds: number;
  /** Creation to end, or to `now` while unfinished. */
  elapsedSeconds: number;
  overSla: boolean;
}

export function taskSla(
  task: Pick<TaskRecord, 'createdAt' | 'finishedAt' | 'status'>,
  slaSeconds: number | undefined,
  now: number,
): TaskSla | null {
  if (slaSeconds === undefined) return null;
  const elapsedSeconds = Math.max(0, ((task.finishedAt ?? now) - task.createdAt) / 1000);
  return { slaSeconds, elapsedSeconds, overSla: task.status !== 'cancelled' && elapsedSeconds > slaSeconds };
}
