/** PostgreSQL's reads outside the cycle (a task, lists, counts, gauges, history) and the worker registry. */
import type pg from 'pg';
import type { AttemptRecord, TaskSnapshot, TransitionRecord } from '../../core/records.js';
import { encodeCursor, isUuid } from '../cursor.js';
import type * as port from '../port.js';
import { READY_COUNT_CAP, WORKER_ROW_RETENTION_MS } from '../port.js';
import {
  attemptFromRow,
  stepFromRow,
  listedTaskFromRow,
  taskFromRow,
  transitionsFromLog,
  workerFromRow,
  type AttemptRow,
  type StepRow,
  type TaskRow,
  type TransitionLogRow,
  type WorkerRow,
} from '../rows.js';
import { taskWhere } from '../task-filter.js';
import { foldThroughput, throughputSql, type ThroughputGroup } from '../throughput-sql.js';
import type { PgPool } from './pool.js';
import { literal, Params } from './sql.js';

export class PgReads {
  private readonly sql: PgPool['sql'];

  constructor(private readonly db: PgPool) {
    this.sql = db.sql;
  }

  /**
   * One round trip: a read-only snapshot transaction sent as a single simple-protocol query (task, then
   * steps, both as of the same snapshot). The id is inlined, which is safe only because isUuid() has
   * admitted nothing but hex digits and dashes; the extended protocol would need four round trips.
   */
  async task(taskId: string): Promise<TaskSnapshot | null> {
    if (!isUuid(taskId)) return null;
    const results = (await this.db.simple(this.sql.snapshotOf(taskId.toLowerCase()))) as Array<
      pg.QueryResult<TaskRow & StepRow>
    >;
    const task = results[1]?.rows[0] as TaskRow | undefined;
    if (!task) return null;
    return { task: taskFromRow(task), steps: ((results[2]?.rows ?? []) as StepRow[]).map(stepFromRow) };
  }

  async attempts(taskIds: readonly string[]): Promise<AttemptRecord[]> {
    const ids = taskIds.filter(isUuid);
    if (ids.length === 0) return [];
    return (await this.db.query<AttemptRow>(this.sql.attempts, [ids])).rows.map(attemptFromRow);
  }

  async transitions(taskId: string): Promise<TransitionRecord[]> {
    if (!isUuid(taskId)) return [];
    return transitionsFromLog((await this.db.query<TransitionLogRow>(this.sql.transitions, [taskId])).rows);
  }

  /** Several tasks' transitions in one read (archiving), each task's in order. */
  async transitionsFor(ids: readonly string[]): Promise<TransitionRecord[]> {
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return [];
    const r = await this.db.query<TransitionLogRow>(this.sql.transitionsOf, [valid]);
    return transitionsFromLog(r.rows);
  }

  async listTasks(filter: port.TaskFilter): Promise<port.TaskPage> {
    const w = taskWhere(filter, (n) => `$${n}`, this.db.t('task_tags'), '::uuid', true);
    const limit = filter.limit ?? 50;
    const r = await this.db.query<TaskRow>(this.sql.listTasks(w.sql, w.order, w.args.length + 1), [
      ...w.args,
      limit + 1,
    ]);
    const tasks = r.rows.slice(0, limit).map(listedTaskFromRow);
    const last = tasks[tasks.length - 1];
    return { tasks, nextCursor: r.rows.length > limit && last ? encodeCursor(last.id) : null };
  }

  async countTasks(filter: port.TaskFilter): Promise<number> {
    const w = taskWhere({ ...filter, cursor: undefined }, (n) => `$${n}`, this.db.t('task_tags'), '::uuid');
    return (await this.db.query<{ n: number }>(this.sql.countTasks(w.sql), w.args)).rows[0]?.n ?? 0;
  }

  async activeCounts(now: number): Promise<port.ActiveCounts> {
    const [inProgress, ready] = await Promise.all([
      this.db.query<{ namespace: string; name: string; count: string }>(this.sql.runningByTemplate, []),
      this.db.query<{ namespace: string; count: string }>(this.sql.readyByNamespace, [now]),
    ]);
    return {
      inProgress: inProgress.rows.map((r) => ({
        namespace: r.namespace,
        name: r.name,
        count: Number(r.count),
      })),
      ready: ready.rows.map((r) => ({ namespace: r.namespace, count: Number(r.count) })),
    };
  }

  async countReady(now: number, opts: port.ReadyCountOptions): Promise<{ total: number; ahead: number[] }> {
    const bounds = [Number.MAX_SAFE_INTEGER, ...(opts.before ?? [])];
    const ns = opts.namespaces;
    const r = await this.db.indexedRead<{ n: string }>(
      this.sql.countReady(literal(now), literal(bounds), literal(READY_COUNT_CAP), ns ? literal(ns) : null),
    );
    const counts = r.rows.map((x) => Number(x.n));
    return { total: counts[0] ?? 0, ahead: counts.slice(1) };
  }

  async throughput(q: port.ThroughputQuery): Promise<port.ThroughputRow[]> {
    // Typed parameters: PostgreSQL cannot infer a type for `$n / $m` on its own.
    const { sql: text, args } = throughputSql(
      q,
      this.db.t('tasks'),
      (n, v) => `$${n}::${typeof v === 'number' ? 'bigint' : 'text'}`,
      '::uuid',
    );
    const r = await this.db.query<ThroughputGroup>(text, args);
    return foldThroughput(r.rows);
  }

  async saveWorker(w: port.WorkerRecord): Promise<void> {
    const p = new Params(this.db.t);
    await this.db.query(this.sql.saveWorker(p, w, w.heartbeatAt - WORKER_ROW_RETENTION_MS), p.args);
  }

  async listWorkers(now: number, endedAfter: number): Promise<port.WorkerRecord[]> {
    const [rows, leases] = await Promise.all([
      this.db.query<WorkerRow>(this.sql.workers, [now, endedAfter]),
      this.db.indexedRead<{ id: string; n: string }>(this.sql.leasesByOwner),
    ]);
    const leased = new Map(leases.rows.map((r) => [r.id, Number(r.n)]));
    return rows.rows.map((r) =>
      workerFromRow(r, r.stopped_at === null ? (leased.get(r.id) ?? 0) : undefined),
    );
  }
}
