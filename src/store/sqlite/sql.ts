/**
 * SQLite's statements, named: the write statements come from the column lists in store/columns.ts, the
 * reads are written out. Plain table names (one database file, no schema) and `?` placeholders.
 */
import type Database from 'better-sqlite3';
import {
  names,
  rowRunner,
  WORKER_INSERT,
  WORKER_UPSERT,
  type Columns,
  type RowRunner,
  type UpdateSpec,
} from '../columns.js';

export const placeholders = (cols: Columns<never>): string => cols.map(() => '?').join(', ');

/** A multi-row INSERT of `rows` rows. */
export function insertSql(table: string, cols: Columns<never>, rows = 1, verb = 'INSERT'): string {
  const one = `(${placeholders(cols)})`;
  return `${verb} INTO ${table} (${names(cols)}) VALUES ${Array<string>(rows).fill(one).join(', ')}`;
}

/** Bound as the `set` values, then the `match` values (see updateRunner). */
export function updateSql(spec: UpdateSpec<never>): string {
  const eq = (cols: Columns<never>) => cols.map((c) => `${c.name} = ?`);
  return `UPDATE ${spec.table} SET ${eq(spec.set).join(', ')} WHERE ${eq(spec.match).join(' AND ')}`;
}

/** Runs the UPDATE of `updateSql(spec)` for one row. */
export function updateRunner<R>(spec: UpdateSpec<R>): RowRunner<R, Database.RunResult> {
  return rowRunner([...spec.set, ...spec.match]);
}

export const SELECT_TASK = 'SELECT * FROM tasks WHERE id = ?';
export const SELECT_TASK_BY_KEY = 'SELECT * FROM tasks WHERE idempotency_key = ?';
export const SELECT_STEPS = 'SELECT * FROM steps WHERE task_id = ? ORDER BY position';
export const SELECT_ATTEMPTS =
  'SELECT * FROM step_attempts WHERE task_id = ? ORDER BY started_at, step_id, attempt';
export const SELECT_TRANSITIONS = 'SELECT task_id, entries FROM transition_log WHERE task_id = ? ORDER BY id';
export const SELECT_EXPIRED = `SELECT id, task_id FROM steps WHERE lease_expires_at IS NOT NULL AND lease_expires_at < ?
  ORDER BY lease_expires_at LIMIT ?`;
export const SELECT_NEXT_READY = 'SELECT MIN(ready_at) AS at FROM steps WHERE ready_at IS NOT NULL';
export const EXTEND_LEASE = `UPDATE steps SET lease_expires_at = ?
  WHERE id = ? AND lease_owner = ? AND status = 'in_progress' AND attempts = ?`;
export const SCHEMA_VERSION = 'SELECT MAX(version) AS v FROM schema_migrations';

/**
 * The claim query: ready steps in ready order (partial index steps_ready), of tasks that can run, with a
 * handler this worker has. The task-status join is a safety net for the invariant "ready_at set ⇒ task
 * pending or in_progress": one stray row must never occupy a worker's claim batch forever. CROSS JOIN pins
 * the join order: the steps_ready index drives, so a large backlog of pending tasks is never scanned (the
 * planner would otherwise start from tasks_status).
 */
export function selectReadySql(handlerCount: number | null): string {
  const byHandler =
    handlerCount === null ? '' : `AND s.handler IN (${Array<string>(handlerCount).fill('?').join(', ')})`;
  return `SELECT s.id, s.task_id FROM steps s CROSS JOIN tasks t ON t.id = s.task_id
    WHERE s.ready_at IS NOT NULL AND s.ready_at <= ? AND t.status IN ('pending', 'in_progress') ${byHandler}
    ORDER BY s.ready_at, s.id LIMIT ?`;
}

/** Bound as (i, at) per bound, then now, the namespaces, the cap. */
export function countReadySql(bounds: number, namespaces: number | null): string {
  const join = namespaces === null ? '' : 'CROSS JOIN tasks t ON t.id = s.task_id';
  const inNs =
    namespaces === null
      ? ''
      : `AND t.namespace IN (${Array<string>(namespaces).fill('?').join(', ') || 'NULL'})`;
  return `WITH b(i, at) AS (VALUES ${Array<string>(bounds).fill('(?, ?)').join(', ')})
    SELECT b.i, (SELECT COUNT(*) FROM (SELECT 1 FROM steps s ${join}
      WHERE s.ready_at IS NOT NULL AND s.ready_at <= ? AND s.ready_at < b.at ${inNs} LIMIT ?)) AS n
    FROM b ORDER BY b.i`;
}

export const ACTIVE_TASKS = `SELECT namespace, name, COUNT(*) AS count FROM tasks WHERE status = 'in_progress'
  GROUP BY namespace, name`;
export const READY_BY_NAMESPACE = `SELECT t.namespace, COUNT(*) AS count FROM steps s JOIN tasks t ON t.id = s.task_id
  WHERE s.ready_at IS NOT NULL AND s.ready_at <= ? GROUP BY t.namespace`;
export const DELETE_OLD_WORKERS = 'DELETE FROM workers WHERE COALESCE(stopped_at, expires_at) < ?';
export const SELECT_WORKERS = `SELECT * FROM workers
  WHERE (stopped_at IS NULL AND expires_at >= ?) OR COALESCE(stopped_at, expires_at) >= ? ORDER BY started_at DESC`;
export const LEASES_BY_OWNER = `SELECT lease_owner AS id, COUNT(*) AS n FROM steps WHERE lease_expires_at IS NOT NULL
  GROUP BY lease_owner`;

/** A page of tasks newest first, given a WHERE clause (store/task-filter.ts); the limit is bound last. */
export const listTasksSql = (where: string): string =>
  `SELECT t.* FROM tasks t ${where} ORDER BY t.id DESC LIMIT ?`;
export const countTasksSql = (where: string): string => `SELECT COUNT(*) AS n FROM tasks t ${where}`;

export const UPSERT_WORKER = `${insertSql('workers', WORKER_INSERT)}
  ON CONFLICT (id) DO UPDATE SET ${WORKER_UPSERT.map((c) => `${c} = excluded.${c}`).join(', ')}`;
