/**
 * Task snapshots as of this process's last commit, so the hot path (complete a step, claim its
 * dependants) does not re-read and re-parse rows it wrote itself. Each adapter proves an entry current
 * before using it: SQLite drops the whole cache when `PRAGMA data_version` says another connection
 * committed; PostgreSQL compares the task row's revision, read under the task's row lock, with the
 * revision the entry was written at. Changes are staged during a transaction and only become visible
 * after it commits.
 */
import type { StepRecord, TaskSnapshot } from '../core/records.js';
import { TERMINAL_TASK_STATES } from '../core/states.js';

interface Entry {
  snapshot: TaskSnapshot;
  revision: number;
}

export class SnapshotCache {
  private readonly entries = new Map<string, Entry>();
  private staged: Array<Entry> = [];
  private dataVersion = -1;

  constructor(private readonly maxEntries: number) {}

  /** SQLite: call at the start of every read or transaction with the connection's current data_version. */
  sync(dataVersion: number): void {
    if (dataVersion !== this.dataVersion) {
      this.entries.clear();
      this.dataVersion = dataVersion;
    }
  }

  /** The cached snapshot, if it was written at `revision` (adapters without revisions pass nothing). */
  get(taskId: string, revision = 0): TaskSnapshot | undefined {
    const e = this.entries.get(taskId);
    return e && e.revision === revision ? e.snapshot : undefined;
  }

  /** Whether any snapshot of the task is cached (it may still be stale). */
  has(taskId: string): boolean {
    return this.entries.has(taskId);
  }

  stage(snapshot: TaskSnapshot, revision = 0): void {
    this.staged.push({ snapshot, revision });
  }

  /** Stage a copy of a cached task with one step's fields changed (entries are never mutated in place). */
  patchStep(taskId: string, stepId: number, patch: Partial<StepRecord>): void {
    const cur = this.entries.get(taskId);
    if (!cur) return;
    this.staged.push({
      revision: cur.revision,
      snapshot: {
        task: cur.snapshot.task,
        steps: cur.snapshot.steps.map((st) => (st.id === stepId ? { ...st, ...patch } : st)),
      },
    });
  }

  commit(): void {
    for (const e of this.staged) {
      const { task } = e.snapshot;
      this.entries.delete(task.id);
      // Finished tasks are rarely touched again; keep the cache for work in flight.
      if (!TERMINAL_TASK_STATES.has(task.status) && task.status !== 'error') this.entries.set(task.id, e);
    }
    this.staged = [];
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  rollback(): void {
    this.staged = [];
    this.entries.clear();
  }
}
