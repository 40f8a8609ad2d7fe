/**
 * Compare a run with its last good run (or a given one): picks the baseline, resolves worker hosts
 * through the registry, and leaves the diff to core/run-compare.ts.
 */
import { compareRuns, type RunComparison } from '../core/run-compare.js';
import type { TaskRecord, TaskSnapshot } from '../core/records.js';
import { TaskerError } from '../errors.js';
import type { TaskStore } from '../store/port.js';

export type BaselineChoice = 'same_version' | 'other_version' | 'given' | 'none';

export interface Comparison extends RunComparison {
  task: TaskRecord;
  baseline: TaskRecord | null;
  choice: BaselineChoice;
  note: string;
}

/**
 * A worker's host: from the registry, else (its row gone a day after the worker ended) from a default
 * worker id, which starts with the host.
 */
export function hostResolver(
  workers: ReadonlyArray<{ id: string; host: string }>,
): (id: string) => string | null {
  const hosts = new Map(workers.map((w) => [w.id, w.host]));
  return (id) => hosts.get(id) ?? (/^[^:]+:\d+:[0-9a-f]+$/.test(id) ? (id.split(':')[0] ?? null) : null);
}

export async function compareWithBaseline(
  store: TaskStore,
  taskId: string,
  against: 'last_success' | { taskId: string },
  now: number,
  /** Whether the caller may see a task (namespace limits): other tasks never serve as a baseline. */
  visible: (t: TaskRecord) => boolean,
): Promise<Comparison> {
  const run = await store.getTask(taskId);
  if (!run || !visible(run.task))
    throw new TaskerError('TASK_NOT_FOUND', `no task with id ${taskId}`, { taskId });
  const t = run.task;
  let base: TaskSnapshot | null = null;
  let choice: BaselineChoice = 'none';
  if (against !== 'last_success') {
    base = await store.getTask(against.taskId);
    if (!base || !visible(base.task)) {
      throw new TaskerError('TASK_NOT_FOUND', `no task with id ${against.taskId} to compare with`, {
        taskId: against.taskId,
        field: 'with',
      });
    }
    choice = 'given';
  } else {
    const latest = async (version?: string) =>
      (
        await store.listTasks({
          namespace: t.namespace,
          name: t.name,
          version,
          status: ['complete'],
          limit: 2,
        })
      ).tasks.find((x) => x.id !== t.id);
    const same = await latest(t.version);
    const other = same ? undefined : await latest();
    const pick = same ?? other;
    if (pick) {
      base = await store.getTask(pick.id);
      choice = same ? 'same_version' : 'other_version';
    }
  }
  const [runAttempts, baseAttempts] = await Promise.all([
    store.getAttempts(t.id),
    base ? store.getAttempts(base.task.id) : Promise.resolve([]),
  ]);
  const hostOf = hostResolver(await store.listWorkers(now, 0));
  const diff = compareRuns(
    { ...run, attempts: runAttempts },
    base ? { ...base, attempts: baseAttempts } : null,
    hostOf,
  );
  return {
    ...diff,
    task: t,
    baseline: base?.task ?? null,
    choice,
    note: noteFor(t, base?.task ?? null, choice),
  };
}

function noteFor(t: TaskRecord, b: TaskRecord | null, choice: BaselineChoice): string {
  const tpl = `${t.namespace}/${t.name}`;
  switch (choice) {
    case 'same_version':
      return `compared with the most recent completed run of ${tpl}@${t.version}`;
    case 'other_version':
      return `no completed run of ${tpl}@${t.version}; compared with the most recent completed run of another version (${b?.version ?? '?'})`;
    case 'given':
      return `compared with task ${b?.id ?? '?'} (${b?.namespace}/${b?.name}@${b?.version}, ${b?.status})`;
    case 'none':
      return `no completed run of ${tpl} to compare with`;
  }
}
