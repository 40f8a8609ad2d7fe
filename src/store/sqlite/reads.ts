/**
 * SQLite's reads outside the cycle (task lists, counts, gauges, history) and the worker registry. All
 * synchronous: the store wraps each call into a promise and maps driver errors.
 */
import type Database from 'better-sqlite3';
import type { AttemptRecord, TransitionRecord } from '../../core/records.js';
import { WORKER_INSERT, rowValues } from '../columns.js';
import { encodeCursor } from '../cursor.js';
import type * as port from '../port.js';
import { READY_COUNT_CAP, WORKER_ROW_RETENTION_MS } from '../port.js';
import {
  attemptFromRow,
  listedTaskFromRow,
  transitionsFromLog,
  workerFromRow,
  type AttemptRow,
  type TaskRow,
  type TransitionLogRow,
  type WorkerRow,
} from '../rows.js';
import { taskWhere } from '../task-filter.js';
import { foldThroughput, throughputSql, type ThroughputGroup } from '../throughput-sql.js';
import * as sql from './sql.js';

export class SqliteReads {
  private readonly selectAttempts: Database.Statement;
  private readonly selectTransitions: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.selectAttempts = db.prepare(sql.SELECT_ATTEMPTS);
    this.selectTransitions = db.prepare(sql.SELECT_TRANSITIONS);
  }

  attempts(taskId: string): AttemptRecord[] {
    return (this.selectAttempts.all(taskId) as AttemptRow[]).map(attemptFromRow);
  }

  transitions(taskId: string): TransitionRecord[] {
    return transitionsFromLog(this.selectTransitions.all(taskId) as TransitionLogRow[]);
  }

  listTasks(filter: port.TaskFilter): port.TaskPage {
    const w = taskWhere(filter, () => '?', 'task_tags');
    const limit = filter.limit ?? 50;
    const rows = this.db.prepare(sql.listTasksSql(w.sql)).all(...w.args, limit + 1) as TaskRow[];
    const tasks = rows.slice(0, limit).map(listedTaskFromRow);
    const last = tasks[tasks.length - 1];
    return { tasks, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
  }

  countTasks(filter: port.TaskFilter): number {
    const w = taskWhere({ ...filter, cursor: undefined }, () => '?', 'task_tags');
    return (this.db.prepare(sql.countTasksSql(w.sql)).get(...w.args) as { n: number }).n;
  }

  activeCounts(now: number): port.ActiveCounts {
    return {
      inProgress: this.db.prepare(sql.ACTIVE_TASKS).all() as port.ActiveCounts['inProgress'],
      ready: this.db.prepare(sql.READY_BY_NAMESPACE).all(now) as port.ActiveCounts['ready'],
    };
  }

  countReady(now: number, opts: port.ReadyCountOptions): { total: number; ahead: number[] } {
    const ns = opts.namespaces;
    const bounds = [Number.MAX_SAFE_INTEGER, ...(opts.before ?? [])];
    const rows = this.db
      .prepare(sql.countReadySql(bounds.length, ns ? ns.length : null))
      .all(...bounds.flatMap((at, i) => [i, at]), now, ...(ns ?? []), READY_COUNT_CAP) as Array<{
      n: number;
    }>;
    return { total: rows[0]?.n ?? 0, ahead: rows.slice(1).map((r) => r.n) };
  }

  throughput(q: port.ThroughputQuery): port.ThroughputRow[] {
    // Numbered (?N): the window's bounds appear more than once in the statement.
    const { sql: text, args } = throughputSql(q, 'tasks', (n) => `?${n}`);
    // better-sqlite3 binds numbered parameters from an object keyed by number.
    const bound = Object.fromEntries(args.map((v, i) => [i + 1, v]));
    return foldThroughput(this.db.prepare(text).all(bound) as ThroughputGroup[]);
  }

  saveWorker(w: port.WorkerRecord): void {
    this.db.transaction(() => {
      this.db.prepare(sql.UPSERT_WORKER).run(rowValues(WORKER_INSERT, w));
      this.db.prepare(sql.DELETE_OLD_WORKERS).run(w.heartbeatAt - WORKER_ROW_RETENTION_MS);
    })();
  }

  listWorkers(now: number, endedAfter: number): port.WorkerRecord[] {
    return this.db.transaction(() => {
      const rows = this.db.prepare(sql.SELECT_WORKERS).all(now, endedAfter) as WorkerRow[];
      const leases = this.db.prepare(sql.LEASES_BY_OWNER).all() as Array<{ id: string; n: number }>;
      const leased = new Map(leases.map((r) => [r.id, r.n]));
      return rows.map((r) => workerFromRow(r, r.stopped_at === null ? (leased.get(r.id) ?? 0) : undefined));
    })();
  }
}
