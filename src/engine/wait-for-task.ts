/**
 * Waiting for a task to end: polls the store, woken early by this process's terminal task events, and
 * rides out a store that is briefly unavailable.
 */
import type { Logger } from 'pino';
import type { TaskRecord, TaskSnapshot } from '../core/records.js';
import { TERMINAL_TASK_STATES } from '../core/states.js';
import { TaskerError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import { TASK_TERMINAL_EVENTS } from '../events/catalog.js';
import type { TaskStore } from '../store/port.js';

export interface WaitOptions {
  timeoutMs?: number;
  pollMs?: number;
}

export async function waitForTask(
  store: TaskStore,
  events: EventBus,
  logger: Logger,
  taskId: string,
  options: WaitOptions,
): Promise<TaskRecord> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const pollMs = options.pollMs ?? 200;
  for (const [field, v] of [
    ['timeoutMs', timeoutMs],
    ['pollMs', pollMs],
  ] as const) {
    if (!Number.isFinite(v) || v <= 0) {
      throw new TaskerError(
        'INVALID_ARGUMENT',
        `${field}: expected a positive number of milliseconds, got ${v}`,
        {
          field,
        },
      );
    }
  }
  const deadline = Date.now() + timeoutMs;
  const isDone = (t: TaskRecord) => TERMINAL_TASK_STATES.has(t.status) || t.status === 'error';
  for (;;) {
    let snap: TaskSnapshot | null | undefined;
    try {
      snap = await store.getTask(taskId);
    } catch (err) {
      // A dropped connection is not the task's fault: keep waiting (the next poll reconnects).
      if (!(err instanceof TaskerError && err.code === 'DATABASE_UNAVAILABLE') || Date.now() >= deadline)
        throw err;
      logger.warn({ err, task_id: taskId }, 'waiting for a task: store unavailable, retrying');
      await new Promise((r) => setTimeout(r, pollMs));
      continue;
    }
    if (!snap) throw new TaskerError('TASK_NOT_FOUND', `no task with id ${taskId}`, { taskId });
    if (isDone(snap.task)) return snap.task;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new TaskerError(
        'WAIT_TIMEOUT',
        `task ${taskId} still ${snap.task.status} after ${timeoutMs} ms`,
        {
          taskId,
          status: snap.task.status,
        },
      );
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(pollMs, left));
      const off = events.subscribe([...TASK_TERMINAL_EVENTS], (e) => {
        if (e.payload.task_id === taskId) done();
      });
      function done() {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  }
}
