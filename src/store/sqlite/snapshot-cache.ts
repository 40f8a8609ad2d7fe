/**
 * Task snapshots as of this connection's last commit, so the hot path (complete a step, claim its
 * dependants) does not re-read and re-parse rows it wrote itself. Safe because SQLite tells us when any
 * other connection has committed (`PRAGMA data_version` changes): then the whole cache is dropped.
 * Changes are staged during a transaction and only become visible after it commits.
 */
import type { StepRecord, TaskSnapshot } from '../../core/records.js';
import { TERMINAL_TASK_STATES } from '../../core/states.js';

export class SnapshotCache {
  private readonly entries = new Map<string, TaskSnapshot>();
  private staged: TaskSnapshot[] = [];
  private dataVersion = -1;

  constructor(private readonly maxEntries: number) {}

  /** Call at the start of every read or transaction with the connection's current data_version. */
  sync(dataVersion: number): void {
    if (dataVersion !== this.dataVersion) {
      this.entries.clear();
      this.dataVersion = dataVersion;
    }
  }

  get(taskId: string): TaskSnapshot | undefined {
    return this.entries.get(taskId);
  }

  stage(snapshot: TaskSnapshot): void {
    this.staged.push(snapshot);
  }

  /** Stage a copy of a cached task with one step's fields changed (entries are never mutated in place). */
  patchStep(taskId: string, stepId: number, patch: Partial<StepRecord>): void {
    const cur = this.entries.get(taskId);
    if (!cur) return;
    this.staged.push({
      task: cur.task,
      steps: cur.steps.map((st) => (st.id === stepId ? { ...st, ...patch } : st)),
    });
  }

  commit(): void {
    for (const s of this.staged) {
      this.entries.delete(s.task.id);
      // Finished tasks are rarely touched again; keep the cache for work in flight.
      if (!TERMINAL_TASK_STATES.has(s.task.status) && s.task.status !== 'error')
        this.entries.set(s.task.id, s);
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
