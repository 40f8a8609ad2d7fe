/** PostgreSQL's reads outside the cycle (a task, lists, counts, gauges, history) and the worker registry. */
import type pg from 'pg';
import type { AttemptRecord, TaskSnapshot, TransitionRecord } from '../../core/records.js';
import { WORKER_INSERT, WORKER_UPSERT } from '../columns.js';
import { encodeCursor, isUuid } from '../cursor.js';
import type * as port from '../port.js';
import { READY_COUNT_CAP, WORKER_ROW_RETENTION_MS } from '../port.js';
import {
  attemptFromRow,
  stepFromRow,
  taskFromRow,
  transitionFromRow,
  workerFromRow,
  type AttemptRow,
  type StepRow,
  type TaskRow,
  type TransitionRow,
  type WorkerRow,
} from '../rows.js';
import { taskWhere } from '../task-filter.js';
import { foldThroughput, throughputSql, type ThroughputGroup } from '../throughput-sql.js';
import type { PgPool } from './pool.js';
import * as sql from './sql.js';

export class PgReads {
  constructor(private readonly db: PgPool) {}

  /**
   * One round trip: a read-only snapshot transaction sent as a single simple-protocol query (task, then
   * steps, both as of the same snapshot). The id is inlined, which is safe only because isUuid() has
   * admitted nothing but hex digits and dashes; the extended protocol would need four round trips.
   */
  async task(taskId: string): Promise<TaskSnapshot | null> {
    if (!isUuid(taskId)) return null;
    const id = `'${taskId.toLowerCase()}'::uuid`;
    const results = (await this.db.simple(
      `${sql.SNAPSHOT_READ};
       SELECT ${sql.TASK_SELECT} FROM ${this.db.t('tasks')} WHERE id = ${id};
       SELECT ${sql.STEP_SELECT} FROM ${this.db.t('steps')} WHERE task_id = ${id} ORDER BY position;
       COMMIT`,
    )) as Array<pg.QueryResult<TaskRow & StepRow>>;
    const task = results[1]?.rows[0] as TaskRow | undefined;
    if (!task) return null;
    return { task: taskFromRow(task), steps: ((results[2]?.rows ?? []) as StepRow[]).map(stepFromRow) };
  }

  async attempts(taskIds: readonly string[]): Promise<AttemptRecord[]> {
    const ids = taskIds.filter(isUuid);
    if (ids.length === 0) return [];
    const r = await this.db.query<AttemptRow>(
      `SELECT * FROM ${this.db.t('step_attempts')} WHERE task_id = ANY($1::uuid[])
       ORDER BY task_id, started_at, step_id, attempt`,
      [ids],
    );
    return r.rows.map(attemptFromRow);
  }

  async transitions(taskId: string): Promise<TransitionRecord[]> {
    if (!isUuid(taskId)) return [];
    const r = await this.db.query<TransitionRow>(
      `SELECT * FROM ${this.db.t('transitions')} WHERE task_id = $1 ORDER BY id`,
      [taskId],
    );
    return r.rows.map(transitionFromRow);
  }

  async listTasks(filter: port.TaskFilter): Promise<port.TaskPage> {
    const w = taskWhere(filter, (n) => `$${n}`, this.db.t('task_tags'), '::uuid');
    const limit = filter.limit ?? 50;
    const r = await this.db.query<TaskRow>(
      `SELECT ${sql.selectList(sql.TASK_READ, 't')} FROM ${this.db.t('tasks')} t ${w.sql}
       ORDER BY t.id DESC LIMIT $${w.args.length + 1}`,
      [...w.args, limit + 1],
    );
    const tasks = r.rows.slice(0, limit).map(taskFromRow);
    const last = tasks[tasks.length - 1];
    return { tasks, nextCursor: r.rows.length > limit && last ? encodeCursor(last.id) : null };
  }

  async countTasks(filter: port.TaskFilter): Promise<number> {
    const w = taskWhere({ ...filter, cursor: undefined }, (n) => `$${n}`, this.db.t('task_tags'), '::uuid');
    const r = await this.db.query<{ n: number }>(
      `SELECT COUNT(*)::int AS n FROM ${this.db.t('tasks')} t ${w.sql}`,
      w.args,
    );
    return r.rows[0]?.n ?? 0;
  }

  async activeCounts(now: number): Promise<port.ActiveCounts> {
    const [inProgress, ready] = await Promise.all([
      this.db.query<{ namespace: string; name: string; count: string }>(
        `SELECT namespace, name, COUNT(*) AS count FROM ${this.db.t('tasks')} WHERE status = 'in_progress'
         GROUP BY namespace, name`,
        [],
      ),
      this.db.query<{ namespace: string; count: string }>(
        `SELECT t.namespace, COUNT(*) AS count FROM ${this.db.t('steps')} s JOIN ${this.db.t('tasks')} t ON t.id = s.task_id
         WHERE s.ready_at IS NOT NULL AND s.ready_at <= $1 GROUP BY t.namespace`,
        [now],
      ),
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
    const ns = opts.namespaces;
    const bounds = [Number.MAX_SAFE_INTEGER, ...(opts.before ?? [])];
    const r = await this.db.indexedRead((c) =>
      c.query<{ n: string }>(sql.countReadySql(this.db.t, !!ns), [
        now,
        bounds,
        READY_COUNT_CAP,
        ...(ns ? [ns] : []),
      ]),
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
    const p = new sql.Params(this.db.t);
    const values = WORKER_INSERT.map((c) => p.value(c.value(w), c.type === 'jsonb' ? 'jsonb' : undefined));
    await this.db.query(
      `WITH up AS (
         INSERT INTO ${this.db.t('workers')} (${WORKER_INSERT.map((c) => c.name).join(', ')})
         VALUES (${values.join(', ')})
         ON CONFLICT (id) DO UPDATE SET ${WORKER_UPSERT.map((c) => `${c} = excluded.${c}`).join(', ')}
       )
       DELETE FROM ${this.db.t('workers')} WHERE COALESCE(stopped_at, expires_at) < ${p.value(w.heartbeatAt - WORKER_ROW_RETENTION_MS)}`,
      p.args,
    );
  }

  async listWorkers(now: number, endedAfter: number): Promise<port.WorkerRecord[]> {
    const [rows, leases] = await Promise.all([
      this.db.query<WorkerRow>(
        `SELECT ${sql.selectList(WORKER_INSERT)} FROM ${this.db.t('workers')}
         WHERE (stopped_at IS NULL AND expires_at >= $1) OR COALESCE(stopped_at, expires_at) >= $2
         ORDER BY started_at DESC`,
        [now, endedAfter],
      ),
      this.db.indexedRead((c) =>
        c.query<{ id: string; n: string }>(
          `SELECT lease_owner AS id, COUNT(*) AS n FROM ${this.db.t('steps')} WHERE lease_expires_at IS NOT NULL
           GROUP BY lease_owner`,
        ),
      ),
    ]);
    const leased = new Map(leases.rows.map((r) => [r.id, Number(r.n)]));
    return rows.rows.map((r) =>
      workerFromRow(r, r.stopped_at === null ? (leased.get(r.id) ?? 0) : undefined),
    );
  }
}
