/**
 * The failure-group aggregates, shared by both adapters. A window's failing attempts (partial index
 * step_attempts_failing) are first collapsed to one row per task and cause, then grouped by template,
 * step, error type and signature in SQL: money and customers come from the columns the task row got at
 * creation, so nothing per task reaches Node. The stuck query reads running tasks only (tasks_active).
 */
import type { FailureGroupKey, FailureGroupQuery, FailureGroupRow, StuckTaskRow } from './port.js';
import { groupKeyOf, type GroupRow } from './triage-rows.js';

export interface Dialect {
  /** The placeholder for the n-th argument (1-based), given its value (to type it). */
  param(n: number, value: unknown): string;
  table(name: string): string;
  /** Null-safe equality. */
  same(a: string, b: string): string;
}

export interface Sql {
  sql: string;
  args: unknown[];
}

/** A group's columns, in GROUP BY order. */
export const KEY_COLUMNS = 'namespace, name, version, step_name, error_type, sig';

const AT_RISK = `('error', 'pending', 'in_progress')`;

function builder(d: Dialect) {
  const args: unknown[] = [];
  const arg = (v: unknown): string => {
    args.push(v);
    return d.param(args.length, v);
  };
  return { args, arg };
}

function namespaceWhere(q: FailureGroupQuery, arg: (v: unknown) => string): string[] {
  const where: string[] = [];
  if (q.namespace !== undefined) where.push(`t.namespace = ${arg(q.namespace)}`);
  if (q.name !== undefined) where.push(`t.name = ${arg(q.name)}`);
  if (q.namespaces) {
    const list = q.namespaces.map((n) => arg(n));
    where.push(list.length > 0 ? `t.namespace IN (${list.join(', ')})` : '1 = 0');
  }
  return where;
}

/**
 * `g`: one row per (task, cause) of the window, with its template; `extra` narrows to one group's key.
 * The signature falls back to the raw message for attempts recorded before signatures existed.
 */
function causes(
  d: Dialect,
  q: FailureGroupQuery,
  arg: (v: unknown) => string,
  key?: FailureGroupKey,
): string {
  const where = namespaceWhere(q, arg);
  const attemptWhere = [`a.outcome IN ('retry', 'error')`, `a.finished_at >= ${arg(q.from)}`];
  attemptWhere.push(`a.finished_at < ${arg(q.to)}`);
  if (key) {
    attemptWhere.push(`a.step_name = ${arg(key.step)}`);
    attemptWhere.push(d.same('a.error_type', arg(key.errorType)));
    attemptWhere.push(`COALESCE(a.error_signature, a.error_message, '') = ${arg(key.signature)}`);
    where.push(`t.namespace = ${arg(key.namespace)}`, `t.name = ${arg(key.name)}`);
    where.push(`t.version = ${arg(key.version)}`);
  }
  return `WITH f AS (
      SELECT a.task_id, a.step_name, a.error_type, COALESCE(a.error_signature, a.error_message, '') AS sig,
        MIN(a.finished_at) AS first_at, MAX(a.finished_at) AS last_at, COUNT(*) AS n,
        MAX(a.error_message) AS message
      FROM ${d.table('step_attempts')} a
      WHERE ${attemptWhere.join(' AND ')}
      GROUP BY a.task_id, a.step_name, a.error_type, COALESCE(a.error_signature, a.error_message, '')
    ), g AS (
      SELECT t.namespace, t.name, t.version, f.step_name, f.error_type, f.sig, f.task_id, f.first_at, f.last_at,
        f.n, f.message, t.status, t.business_value, t.business_customer
      FROM f JOIN ${d.table('tasks')} t ON t.id = f.task_id
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
    )`;
}

/** One row per group: counts by the task's status now, money and customers of the tasks still at risk. */
export function groupsSql(d: Dialect, q: FailureGroupQuery): Sql {
  const { args, arg } = builder(d);
  const sql = `${causes(d, q, arg)}
    SELECT ${KEY_COLUMNS}, COUNT(*) AS tasks, SUM(n) AS attempts, MIN(first_at) AS first_at,
      MAX(last_at) AS last_at,
      SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS failed,
      SUM(CASE WHEN status IN ('pending', 'in_progress') THEN 1 ELSE 0 END) AS retrying,
      SUM(CASE WHEN status IN ('complete', 'resolved_manually') THEN 1 ELSE 0 END) AS recovered,
      SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
      SUM(CASE WHEN status IN ${AT_RISK} THEN COALESCE(business_value, 0) ELSE 0 END) AS revenue,
      COUNT(DISTINCT CASE WHEN status IN ${AT_RISK} THEN business_customer END) AS named_customers,
      SUM(CASE WHEN status IN ${AT_RISK} AND business_customer IS NULL THEN 1 ELSE 0 END) AS anonymous,
      MAX(message) AS message
    FROM g GROUP BY ${KEY_COLUMNS}`;
  return { sql, args };
}

/** The three tasks of each group that failed last. */
export function examplesSql(d: Dialect, q: FailureGroupQuery): Sql {
  const { args, arg } = builder(d);
  const sql = `${causes(d, q, arg)}
    SELECT ${KEY_COLUMNS}, task_id FROM (
      SELECT g.*, ROW_NUMBER() OVER (PARTITION BY ${KEY_COLUMNS} ORDER BY last_at DESC, task_id DESC) AS rn FROM g
    ) x WHERE rn <= 3`;
  return { sql, args };
}

/** Tasks per group and bucket of their last failure (the sparkline). */
export function seriesSql(d: Dialect, q: FailureGroupQuery): Sql {
  const { args, arg } = builder(d);
  const c = causes(d, q, arg);
  const from = arg(q.from);
  const bucket = arg(q.bucketMs);
  const sql = `${c}
    SELECT ${KEY_COLUMNS}, CAST((last_at - ${from}) / ${bucket} AS INTEGER) AS bucket, COUNT(*) AS n
    FROM g GROUP BY ${KEY_COLUMNS}, CAST((last_at - ${from}) / ${bucket} AS INTEGER)`;
  return { sql, args };
}

/** The workers each group's failing attempts ran on. */
export function workersSql(d: Dialect, q: FailureGroupQuery): Sql {
  const { args, arg } = builder(d);
  const where = namespaceWhere(q, arg);
  where.push(
    `a.outcome IN ('retry', 'error')`,
    `a.finished_at >= ${arg(q.from)}`,
    `a.finished_at < ${arg(q.to)}`,
  );
  const sql = `SELECT t.namespace, t.name, t.version, a.step_name, a.error_type,
      COALESCE(a.error_signature, a.error_message, '') AS sig, a.worker_id
    FROM ${d.table('step_attempts')} a JOIN ${d.table('tasks')} t ON t.id = a.task_id
    WHERE ${where.join(' AND ')} AND a.worker_id IS NOT NULL
    GROUP BY t.namespace, t.name, t.version, a.step_name, a.error_type,
      COALESCE(a.error_signature, a.error_message, ''), a.worker_id`;
  return { sql, args };
}

/** One group's tasks, the last to fail first. */
export function groupTasksSql(d: Dialect, q: FailureGroupQuery, key: FailureGroupKey, limit: number): Sql {
  const { args, arg } = builder(d);
  const sql = `${causes(d, q, arg, key)}
    SELECT task_id FROM g ORDER BY last_at DESC, task_id DESC LIMIT ${arg(limit)}`;
  return { sql, args };
}

/**
 * Unfinished tasks none of whose steps started or finished for longer than the largest timeout of their
 * unfinished steps (an hour for a step without one) plus a grace, and that have no step scheduled for
 * later (a retry backoff is progress that is waiting, not stuck).
 */
export function stuckSql(d: Dialect, q: FailureGroupQuery): Sql {
  const { args, arg } = builder(d);
  const where = namespaceWhere(q, arg);
  const now = arg(q.now);
  const grace = arg(q.stuckGraceMs);
  const noTimeout = arg(STUCK_DEFAULT_ALLOWANCE_MS);
  const unfinished = `s.status IN ('pending', 'in_progress', 'waiting_for_retry')`;
  const sql = `SELECT t.id, t.namespace, t.name, t.version, t.status, t.business_value, t.business_customer,
      MAX(COALESCE(s.finished_at, s.started_at, t.started_at, t.created_at)) AS progress_at
    FROM ${d.table('tasks')} t JOIN ${d.table('steps')} s ON s.task_id = t.id
    WHERE t.status IN ('pending', 'in_progress') ${where.map((w) => `AND ${w}`).join(' ')}
    GROUP BY t.id, t.namespace, t.name, t.version, t.status, t.business_value, t.business_customer
    HAVING SUM(CASE WHEN s.ready_at > ${now} THEN 1 ELSE 0 END) = 0
      AND MAX(COALESCE(s.finished_at, s.started_at, t.started_at, t.created_at))
        < ${now} - ${grace} - MAX(CASE WHEN ${unfinished} THEN COALESCE(s.timeout_ms, ${noTimeout}) ELSE 0 END)
    ORDER BY t.id DESC LIMIT ${arg(STUCK_LIMIT)}`;
  return { sql, args };
}

/** How long a step without a timeout may go without progress before its task counts as stuck. */
export const STUCK_DEFAULT_ALLOWANCE_MS = 3_600_000;
/** Stuck tasks read at most (a backlog that large is one incident, already visible in its first rows). */
export const STUCK_LIMIT = 10_000;

export interface GroupAggregate extends GroupRow {
  tasks: number | string;
  attempts: number | string;
  first_at: number | string;
  last_at: number | string;
  failed: number | string;
  retrying: number | string;
  recovered: number | string;
  cancelled: number | string;
  revenue: number | string | null;
  named_customers: number | string;
  anonymous: number | string;
  message: string | null;
}

/** The four statements' rows → one record per group. */
export function foldGroups(
  groups: readonly GroupAggregate[],
  examples: ReadonlyArray<GroupRow & { task_id: string }>,
  series: ReadonlyArray<GroupRow & { bucket: number | string; n: number | string }>,
  workers: ReadonlyArray<GroupRow & { worker_id: string }>,
): FailureGroupRow[] {
  const byKey = new Map<string, FailureGroupRow>();
  for (const g of groups) {
    byKey.set(groupKeyOf(g), {
      namespace: g.namespace,
      name: g.name,
      version: g.version,
      step: g.step_name,
      errorType: g.error_type,
      signature: g.sig,
      tasks: Number(g.tasks),
      attempts: Number(g.attempts),
      failed: Number(g.failed),
      retrying: Number(g.retrying),
      recovered: Number(g.recovered),
      cancelled: Number(g.cancelled),
      firstSeen: Number(g.first_at),
      lastSeen: Number(g.last_at),
      revenueAtRisk: Number(g.revenue ?? 0),
      namedCustomers: Number(g.named_customers),
      anonymousCustomers: Number(g.anonymous),
      message: g.message,
      examples: [],
      workers: [],
      series: [],
    });
  }
  for (const e of examples) byKey.get(groupKeyOf(e))?.examples.push(e.task_id);
  for (const s of series)
    byKey.get(groupKeyOf(s))?.series.push({ bucket: Number(s.bucket), tasks: Number(s.n) });
  for (const w of workers) byKey.get(groupKeyOf(w))?.workers.push(w.worker_id);
  return [...byKey.values()];
}

export interface StuckRow {
  id: string;
  namespace: string;
  name: string;
  version: string;
  business_value: number | string | null;
  business_customer: string | null;
  progress_at: number | string;
}

export interface UnfinishedStepRow {
  task_id: string;
  name: string;
  status: string;
  ready_at: number | string | null;
  lease_expires_at: number | string | null;
}

export function foldStuck(rows: readonly StuckRow[], steps: readonly UnfinishedStepRow[]): StuckTaskRow[] {
  const first = new Map<string, UnfinishedStepRow>();
  for (const s of steps) if (!first.has(s.task_id)) first.set(s.task_id, s);
  return rows.map((r) => {
    const s = first.get(r.id);
    return {
      taskId: r.id,
      namespace: r.namespace,
      name: r.name,
      version: r.version,
      value: r.business_value === null ? null : Number(r.business_value),
      customer: r.business_customer,
      progressAt: Number(r.progress_at),
      step: s
        ? {
            name: s.name,
            status: s.status,
            readyAt: s.ready_at === null ? null : Number(s.ready_at),
            leaseExpiresAt: s.lease_expires_at === null ? null : Number(s.lease_expires_at),
          }
        : null,
    };
  });
}
