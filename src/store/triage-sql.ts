/**
 * The failure-group reads, shared by both adapters. Each failing attempt carries its group's fingerprint
 * (core/failure-groups.ts attemptCause; only failing attempts have one), so one pass over the window's
 * failing attempts (partial index step_attempts_failing, covering) counts every group, joining each task
 * once: money and customers come from the columns the task row got at creation, so nothing per task
 * reaches Node. Only the top groups then get their key, message, examples, sparkline and workers (index
 * step_attempts_failure_group). The stuck query reads running tasks only (tasks_active).
 */
import type { FailureGroupQuery, FailureGroupRow, StuckTaskRow } from './port.js';

export interface Dialect {
  /** The placeholder for the n-th argument (1-based), given its value (to type it). */
  param(n: number, value: unknown): string;
  table(name: string): string;
  /**
   * PostgreSQL: fetch each counted row's task by key through LATERAL (... LIMIT 1), which the planner
   * cannot turn into a merge join. As a plain join it walked the whole primary key in parallel to meet
   * an hour's 23,000 failing tasks: 118-129 ms, against 90-100 through LATERAL (side by side, 1,000,000
   * tasks, measured). SQLite looks each one up by key on its own and has no LATERAL.
   */
  lateral?: boolean;
}

export interface Sql {
  sql: string;
  args: unknown[];
}

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
 * The one pass over the window's failing attempts: collapsed to one row per task and group (an attempt
 * carries its group's fingerprint), joined to the task once, counted per group.
 */
export function groupsSql(d: Dialect, q: FailureGroupQuery): Sql {
  const { args, arg } = builder(d);
  const where = namespaceWhere(q, arg);
  const sql = `WITH f AS (
      SELECT a.task_id, a.error_fingerprint AS fp, MIN(a.finished_at) AS first_at, MAX(a.finished_at) AS last_at,
        COUNT(*) AS n
      FROM ${d.table('step_attempts')} a
      WHERE a.error_fingerprint IS NOT NULL AND a.finished_at >= ${arg(q.from)} AND a.finished_at < ${arg(q.to)}
      GROUP BY a.task_id, a.error_fingerprint
    )
    SELECT f.fp, COUNT(*) AS tasks, SUM(f.n) AS attempts, MIN(f.first_at) AS first_at, MAX(f.last_at) AS last_at,
      SUM(CASE WHEN t.status = 'error' THEN 1 ELSE 0 END) AS failed,
      SUM(CASE WHEN t.status IN ('pending', 'in_progress') THEN 1 ELSE 0 END) AS retrying,
      SUM(CASE WHEN t.status IN ('complete', 'resolved_manually') THEN 1 ELSE 0 END) AS recovered,
      SUM(CASE WHEN t.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,
      SUM(CASE WHEN t.status IN ${AT_RISK} THEN COALESCE(t.business_value, 0) ELSE 0 END) AS revenue,
      COUNT(DISTINCT CASE WHEN t.status IN ${AT_RISK} THEN t.business_customer END) AS named_customers,
      SUM(CASE WHEN t.status IN ${AT_RISK} AND t.business_customer IS NULL THEN 1 ELSE 0 END) AS anonymous
    FROM f ${
      d.lateral
        ? `CROSS JOIN LATERAL (SELECT t.status, t.business_value, t.business_customer
             FROM ${d.table('tasks')} t WHERE ${['t.id = f.task_id', ...where].join(' AND ')} LIMIT 1) t`
        : `JOIN ${d.table('tasks')} t ON t.id = f.task_id ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}`
    }
    GROUP BY f.fp`;
  return { sql, args };
}

/** Failing attempts read per group to find its key, last message and example tasks. */
export const EXAMPLE_ATTEMPTS = 20;

/**
 * Each group's newest failing attempts (index step_attempts_failure_group: a short range per group), with
 * the template of their task: the group's key, its last message and three example tasks.
 */
export function examplesSql(d: Dialect, q: FailureGroupQuery, fingerprints: readonly string[]): Sql {
  const { args, arg } = builder(d);
  const from = arg(q.from);
  const to = arg(q.to);
  const limit = arg(EXAMPLE_ATTEMPTS);
  const parts = fingerprints.map(
    (fp, i) => `SELECT * FROM (
      SELECT a.error_fingerprint AS fp, a.task_id, a.step_name, a.error_type, a.error_signature AS sig,
        a.error_message AS message, a.finished_at
      FROM ${d.table('step_attempts')} a
      WHERE a.error_fingerprint = ${arg(fp)} AND a.finished_at >= ${from} AND a.finished_at < ${to}
      ORDER BY a.finished_at DESC LIMIT ${limit}) e${i}`,
  );
  const sql = `SELECT e.*, t.namespace, t.name, t.version
    FROM (${parts.join(' UNION ALL ')}) e JOIN ${d.table('tasks')} t ON t.id = e.task_id
    ORDER BY e.fp, e.finished_at DESC, e.task_id DESC`;
  return { sql, args };
}

/**
 * Each group's failing attempts per bucket and worker: the sparkline and the workers, read from the
 * index step_attempts_failure_group alone.
 */
export function activitySql(d: Dialect, q: FailureGroupQuery, fingerprints: readonly string[]): Sql {
  const { args, arg } = builder(d);
  const from = arg(q.from);
  const sql = `SELECT a.error_fingerprint AS fp, CAST((a.finished_at - ${from}) / ${arg(q.bucketMs)} AS INTEGER) AS bucket,
      a.worker_id, COUNT(*) AS n
    FROM ${d.table('step_attempts')} a
    WHERE a.error_fingerprint IN (${fingerprints.map((fp) => arg(fp)).join(', ')})
      AND a.finished_at >= ${from} AND a.finished_at < ${arg(q.to)}
    GROUP BY 1, 2, 3`;
  return { sql, args };
}

/** One group's tasks, the last to fail first (the fingerprint names the template, so its namespace). */
export function groupTasksSql(d: Dialect, q: FailureGroupQuery, fingerprint: string, limit: number): Sql {
  const { args, arg } = builder(d);
  const sql = `SELECT a.task_id, MAX(a.finished_at) AS last_at FROM ${d.table('step_attempts')} a
    WHERE a.error_fingerprint = ${arg(fingerprint)}
      AND a.finished_at >= ${arg(q.from)} AND a.finished_at < ${arg(q.to)}
    GROUP BY a.task_id ORDER BY last_at DESC, a.task_id DESC LIMIT ${arg(limit)}`;
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

/** One group's counts. */
export interface GroupCountRow {
  fp: string;
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
}

export interface ExampleRow {
  fp: string;
  task_id: string;
  step_name: string;
  error_type: string | null;
  sig: string | null;
  message: string | null;
  namespace: string;
  name: string;
  version: string;
}

export interface ActivityRow {
  fp: string;
  bucket: number | string;
  worker_id: string | null;
  n: number | string;
}

/**
 * The groups ranked as the report ranks them (revenue at risk, tasks, most recent), cut to `limit`: only
 * those get their examples and activity read.
 */
export function topGroups(
  rows: readonly GroupCountRow[],
  limit: number,
): { top: GroupCountRow[]; truncated: boolean } {
  const ranked = [...rows].sort(
    (a, b) =>
      Number(b.revenue ?? 0) - Number(a.revenue ?? 0) ||
      Number(b.tasks) - Number(a.tasks) ||
      Number(b.last_at) - Number(a.last_at) ||
      (a.fp < b.fp ? -1 : 1),
  );
  return { top: ranked.slice(0, limit), truncated: ranked.length > limit };
}

function byFingerprint<R extends { fp: string }>(rows: readonly R[]): Map<string, R[]> {
  const m = new Map<string, R[]>();
  for (const r of rows) {
    const list = m.get(r.fp);
    if (list) list.push(r);
    else m.set(r.fp, [r]);
  }
  return m;
}

/** Counts, examples and activity → one record per group (a group without an example row is left out). */
export function foldGroups(
  top: readonly GroupCountRow[],
  examples: readonly ExampleRow[],
  activity: readonly ActivityRow[],
): FailureGroupRow[] {
  const examplesOf = byFingerprint(examples);
  const activityOf = byFingerprint(activity);
  return top.flatMap((g): FailureGroupRow[] => {
    const rows = examplesOf.get(g.fp);
    const last = rows?.[0];
    if (!last) return [];
    const series = new Map<number, number>();
    const workers = new Set<string>();
    for (const a of activityOf.get(g.fp) ?? []) {
      series.set(Number(a.bucket), (series.get(Number(a.bucket)) ?? 0) + Number(a.n));
      if (a.worker_id !== null) workers.add(a.worker_id);
    }
    return [
      {
        fingerprint: g.fp,
        namespace: last.namespace,
        name: last.name,
        version: last.version,
        step: last.step_name,
        errorType: last.error_type,
        signature: last.sig ?? '',
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
        message: last.message,
        examples: [...new Set(rows.map((r) => r.task_id))].slice(0, 3),
        workers: [...workers],
        series: [...series].map(([bucket, n]) => ({ bucket, attempts: n })),
      },
    ];
  });
}

/**
 * The failure-group reads in order. Each step yields a statement and is given its rows, so the
 * synchronous adapter (SQLite) and the asynchronous one (PostgreSQL) run the same steps.
 */
export function* groupReads(
  d: Dialect,
  q: FailureGroupQuery,
): Generator<Sql, { groups: FailureGroupRow[]; truncated: boolean }, unknown[]> {
  const { top, truncated } = topGroups((yield groupsSql(d, q)) as GroupCountRow[], q.maxGroups);
  const fps = top.map((g) => g.fp);
  if (fps.length === 0) return { groups: [], truncated };
  const examples = (yield examplesSql(d, q, fps)) as ExampleRow[];
  const activity = (yield activitySql(d, q, fps)) as ActivityRow[];
  return { groups: foldGroups(top, examples, activity), truncated };
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
