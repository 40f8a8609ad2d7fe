/**
 * The analytics reads, shared by both adapters: a time window's tasks (created in it) aggregated in SQL,
 * so a window of 100,000 tasks returns a few hundred rows, not its tasks and attempts. The window is a
 * range of the primary key (UUIDv7 ids are time-ordered, see task-filter.ts); failed tasks a range of
 * tasks_status (status, id); attempts a range of step_attempts' primary key, which starts with the task.
 */
import { ENGINE_ERROR_TYPES } from '../core/outcomes.js';
import type { ImpactCustomers, ImpactGroup } from '../core/business-impact.js';
import type { StepDurationRow } from '../core/step-stats.js';
import type { AnalyticsQuery } from './port.js';
import { uuidv7Floor } from './cursor.js';
import { taskWhere } from './task-filter.js';

export interface AnalyticsDialect {
  /** The placeholder for the n-th argument (1-based). */
  param: (n: number) => string;
  table: (name: string) => string;
  /** Appended to a task id placeholder (`::uuid` on PostgreSQL). */
  uuidCast: string;
}

export interface AnalyticsSql {
  sql: string;
  args: unknown[];
}

/** The window's tasks (`t`), optionally in these states, within the namespaces the caller may read. */
function windowWhere(d: AnalyticsDialect, q: AnalyticsQuery, status?: 'error'): AnalyticsSql {
  const w = taskWhere(
    {
      status: status ? [status] : undefined,
      namespace: q.namespace,
      name: q.name,
      createdAfter: q.from,
    },
    d.param,
    d.table('task_tags'),
    d.uuidCast,
  );
  const where = [w.sql];
  const args = [...w.args];
  if (q.namespaces) {
    const list = q.namespaces.map((n) => {
      args.push(n);
      return d.param(args.length);
    });
    where.push(list.length > 0 ? `AND t.namespace IN (${list.join(', ')})` : 'AND 1 = 0');
  }
  return { sql: where.join(' '), args };
}

/**
 * The window's failed tasks counted by region, tier and first failing step (by position) with its error
 * type (core/business-impact.ts ImpactGroup).
 */
export function impactGroupsSql(d: AnalyticsDialect, q: AnalyticsQuery): AnalyticsSql {
  const w = windowWhere(d, q, 'error');
  // The first failing step of each failed task: a correlated lookup by task id per failed task (the
  // steps' unique key starts with it), a short index range on both stores.
  const first = (col: string) =>
    `(SELECT s.${col} FROM ${d.table('steps')} s WHERE s.task_id = t.id AND s.status = 'error'
      ORDER BY s.position LIMIT 1)`;
  const sql = `SELECT f.region, f.tier, f.step, f.error_type, COUNT(*) AS tasks, SUM(f.value) AS value,
      SUM(f.bare) AS without_fields
    FROM (
      SELECT t.business_region AS region, t.business_tier AS tier, COALESCE(t.business_value, 0) AS value,
        CASE WHEN t.business_value IS NULL AND t.business_region IS NULL AND t.business_tier IS NULL
          AND t.business_customer IS NULL THEN 1 ELSE 0 END AS bare,
        ${first('name')} AS step, ${first('error_type')} AS error_type
      FROM ${d.table('tasks')} t ${w.sql}
    ) f
    GROUP BY f.region, f.tier, f.step, f.error_type`;
  return { sql, args: w.args };
}

/** Distinct named customers of the window's failed tasks, and failed tasks without a customer. */
export function impactCustomersSql(d: AnalyticsDialect, q: AnalyticsQuery): AnalyticsSql {
  const w = windowWhere(d, q, 'error');
  const sql = `SELECT COUNT(DISTINCT t.business_customer) AS named,
      SUM(CASE WHEN t.business_customer IS NULL THEN 1 ELSE 0 END) AS anonymous
    FROM ${d.table('tasks')} t ${w.sql}`;
  return { sql, args: w.args };
}

const TIMEOUT = `'${ENGINE_ERROR_TYPES.timeout.replaceAll("'", "''")}'`;

/**
 * The window's attempts as a duration histogram per template and step (core/step-stats.ts), and the
 * window's task count, in one statement. A step that ran has an attempt 1 (attempt numbers are never
 * reset), so first attempts count executions without a second pass for COUNT(DISTINCT step_id). The
 * count comes as the one row whose namespace is NULL.
 */
export function stepDurationsSql(d: AnalyticsDialect, q: AnalyticsQuery): AnalyticsSql {
  const w = windowWhere(d, q);
  // The window's tasks first (a primary-key range), then each one's attempts, with the attempts' own
  // bound (their key starts with the task id): otherwise SQLite reads attempts first and looks up each
  // one's task (twice the B-tree searches, 10-20 % slower). The duration leads the
  // grouping key: sorting ~400,000 rows compares integers first, 15 % faster on SQLite.
  const sql = `WITH w AS MATERIALIZED (SELECT t.id, t.namespace, t.name FROM ${d.table('tasks')} t ${w.sql})
    SELECT w.namespace, w.name, a.step_name AS step, a.duration_ms, COUNT(*) AS attempts,
      SUM(CASE WHEN a.outcome IN ('retry', 'error') THEN 1 ELSE 0 END) AS failed,
      SUM(CASE WHEN a.error_type = ${TIMEOUT} THEN 1 ELSE 0 END) AS timeouts,
      SUM(CASE WHEN a.attempt = 1 THEN 1 ELSE 0 END) AS executions
    FROM w CROSS JOIN ${d.table('step_attempts')} a
    WHERE a.task_id = w.id AND a.task_id >= ${d.param(w.args.length + 1)}${d.uuidCast}
    GROUP BY a.duration_ms, a.step_name, w.name, w.namespace
    UNION ALL
    SELECT NULL, NULL, NULL, 0, COUNT(*), 0, 0, 0 FROM w`;
  return { sql, args: [...w.args, uuidv7Floor(q.from)] };
}

/** Rows as the drivers return them: PostgreSQL's bigint and numeric sums come back as strings. */
export interface ImpactGroupRow {
  region: string | null;
  tier: string | null;
  step: string | null;
  error_type: string | null;
  tasks: number | string;
  value: number | string;
  without_fields: number | string;
}

export interface StepDurationSqlRow {
  namespace: string | null;
  name: string | null;
  step: string | null;
  duration_ms: number | string;
  attempts: number | string;
  failed: number | string;
  timeouts: number | string;
  executions: number | string;
}

const num = (v: number | string | null): number => (v === null ? 0 : Number(v));
const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The groups sorted by their key in code (the stores sort NULLs and text differently), so ties in the
 * report come out in the same order on both.
 */
export function impactFromRows(
  rows: readonly ImpactGroupRow[],
  customers: { named: number | string | null; anonymous: number | string | null } | undefined,
): { groups: ImpactGroup[]; customers: ImpactCustomers } {
  const groups = rows
    .map((r): ImpactGroup => ({
      region: r.region,
      tier: r.tier,
      step: r.step,
      errorType: r.error_type,
      tasks: num(r.tasks),
      value: num(r.value),
      withoutFields: num(r.without_fields),
    }))
    .map((g) => ({ g, key: JSON.stringify([g.region, g.tier, g.step, g.errorType]) }))
    .sort((a, b) => byKey(a.key, b.key))
    .map(({ g }) => g);
  return {
    groups,
    customers: { named: num(customers?.named ?? 0), anonymous: num(customers?.anonymous ?? 0) },
  };
}

export function durationsFromRows(rows: readonly StepDurationSqlRow[]): {
  tasks: number;
  durations: StepDurationRow[];
} {
  let tasks = 0;
  const durations: StepDurationRow[] = [];
  for (const r of rows) {
    if (r.namespace === null || r.name === null || r.step === null) {
      tasks = num(r.attempts);
      continue;
    }
    durations.push({
      namespace: r.namespace,
      name: r.name,
      step: r.step,
      durationMs: num(r.duration_ms),
      attempts: num(r.attempts),
      failed: num(r.failed),
      timeouts: num(r.timeouts),
      executions: num(r.executions),
    });
  }
  return { tasks, durations };
}
