/**
 * The analytics reads, shared by both adapters: a time window's tasks (created in it) aggregated in SQL,
 * so a window of 100,000 tasks returns a few hundred rows, not its tasks and attempts. The window is a
 * range of the primary key (UUIDv7 ids are time-ordered, see task-filter.ts); failed tasks a range of
 * tasks_status (status, id); attempts a range of step_attempts' primary key, which starts with the task.
 */
import { ENGINE_ERROR_TYPES } from '../core/outcomes.js';
import type { ImpactCustomers, ImpactGroup } from '../core/business-impact.js';
import type { StepDurationRow, StepExecutionRow } from '../core/step-stats.js';
import type { AnalyticsQuery } from './port.js';
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
  const sql = `SELECT t.business_region AS region, t.business_tier AS tier, s.name AS step,
      s.error_type AS error_type, COUNT(*) AS tasks, SUM(COALESCE(t.business_value, 0)) AS value,
      SUM(CASE WHEN t.business_value IS NULL AND t.business_region IS NULL AND t.business_tier IS NULL
        AND t.business_customer IS NULL THEN 1 ELSE 0 END) AS without_fields
    FROM ${d.table('tasks')} t
    LEFT JOIN ${d.table('steps')} s ON s.task_id = t.id AND s.status = 'error' AND s.position = (
      SELECT MIN(s2.position) FROM ${d.table('steps')} s2 WHERE s2.task_id = t.id AND s2.status = 'error')
    ${w.sql}
    GROUP BY t.business_region, t.business_tier, s.name, s.error_type`;
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

/** The window's attempts as a duration histogram per template and step (core/step-stats.ts). */
export function stepDurationsSql(d: AnalyticsDialect, q: AnalyticsQuery): AnalyticsSql {
  const w = windowWhere(d, q);
  const sql = `SELECT t.namespace, t.name, a.step_name AS step, a.duration_ms, COUNT(*) AS attempts,
      SUM(CASE WHEN a.outcome IN ('retry', 'error') THEN 1 ELSE 0 END) AS failed,
      SUM(CASE WHEN a.error_type = ${TIMEOUT} THEN 1 ELSE 0 END) AS timeouts
    FROM ${d.table('tasks')} t JOIN ${d.table('step_attempts')} a ON a.task_id = t.id
    ${w.sql}
    GROUP BY t.namespace, t.name, a.step_name, a.duration_ms`;
  return { sql, args: w.args };
}

/** How many tasks the window holds. */
export function windowCountSql(d: AnalyticsDialect, q: AnalyticsQuery): AnalyticsSql {
  const w = windowWhere(d, q);
  return { sql: `SELECT COUNT(*) AS n FROM ${d.table('tasks')} t ${w.sql}`, args: w.args };
}

/** How many of the window's steps ran at least once, per template and step. */
export function stepExecutionsSql(d: AnalyticsDialect, q: AnalyticsQuery): AnalyticsSql {
  const w = windowWhere(d, q);
  const sql = `SELECT t.namespace, t.name, a.step_name AS step, COUNT(DISTINCT a.step_id) AS executions
    FROM ${d.table('tasks')} t JOIN ${d.table('step_attempts')} a ON a.task_id = t.id
    ${w.sql}
    GROUP BY t.namespace, t.name, a.step_name`;
  return { sql, args: w.args };
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
  namespace: string;
  name: string;
  step: string;
  duration_ms: number | string;
  attempts: number | string;
  failed: number | string;
  timeouts: number | string;
}

export interface StepExecutionSqlRow {
  namespace: string;
  name: string;
  step: string;
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

export function durationsFromRows(
  tasks: { n: number | string } | undefined,
  durations: readonly StepDurationSqlRow[],
  executions: readonly StepExecutionSqlRow[],
): { tasks: number; durations: StepDurationRow[]; executions: StepExecutionRow[] } {
  return {
    tasks: num(tasks?.n ?? 0),
    durations: durations.map((r) => ({
      namespace: r.namespace,
      name: r.name,
      step: r.step,
      durationMs: num(r.duration_ms),
      attempts: num(r.attempts),
      failed: num(r.failed),
      timeouts: num(r.timeouts),
    })),
    executions: executions.map((r) => ({
      namespace: r.namespace,
      name: r.name,
      step: r.step,
      executions: num(r.executions),
    })),
  };
}
