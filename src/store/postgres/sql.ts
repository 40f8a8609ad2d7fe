/**
 * PostgreSQL's statements, named. Batched writes bind one array per column and unnest them, so a cycle's
 * writes are a handful of statements however many rows they touch; the arrays, their casts and their
 * values all come from the column lists in store/columns.ts. jsonb columns travel as text both ways.
 */
import {
  columnArrays,
  names,
  STEP_READ,
  TASK_COLUMNS,
  type Column,
  type Columns,
  type PgType,
  type UpdateSpec,
} from '../columns.js';

const arrayType = (t: PgType): string => (t === 'jsonb' ? 'text' : t);

/** A column read from an unnested (text) value, cast back where it is jsonb. */
const fromText = (c: Column<never>, alias: string): string =>
  c.type === 'jsonb' ? `${alias}.${c.name}::jsonb` : `${alias}.${c.name}`;

/** A select list with jsonb columns as text (rows.ts parses JSON text for both adapters). */
export function selectList(cols: Columns<never>, alias = ''): string {
  const p = alias ? `${alias}.` : '';
  return cols
    .map((c) => (c.type === 'jsonb' ? `${p}${c.name}::text AS ${c.name}` : `${p}${c.name}`))
    .join(', ');
}

export const TASK_READ = TASK_COLUMNS;
export const TASK_SELECT = selectList(TASK_COLUMNS);
export const STEP_SELECT = selectList(STEP_READ);

/** One statement's positional arguments, numbered as they are added. */
export class Params {
  readonly args: unknown[] = [];

  /** @param t the schema-qualified name of a table */
  constructor(readonly t: (table: string) => string) {}

  /** `$n`, cast to `type` when given. */
  value(v: unknown, type?: PgType): string {
    this.args.push(v);
    return `$${this.args.length}${type ? `::${type}` : ''}`;
  }

  /** `unnest($n::type[], …) AS v(…)`, one array per column. */
  unnest<R>(cols: Columns<R>, rows: readonly R[], alias = 'v'): string {
    const arrays = columnArrays(cols, rows).map((a, i) => `${this.value(a)}::${arrayType(cols[i]!.type)}[]`);
    return `unnest(${arrays.join(', ')}) AS ${alias}(${names(cols)})`;
  }

  insert<R>(table: string, cols: Columns<R>, rows: readonly R[]): string {
    return `INSERT INTO ${this.t(table)} (${names(cols)})
      SELECT ${cols.map((c) => fromText(c, 'v')).join(', ')} FROM ${this.unnest(cols, rows)}`;
  }

  /** A fenced batch UPDATE; `more` adds to SET (`v.k_<column>` names a match value). */
  update<R>(spec: UpdateSpec<R>, rows: readonly R[], more = ''): string {
    const keys = spec.match.map((c) => ({ ...c, name: `k_${c.name}` }));
    return `UPDATE ${this.t(spec.table)} x SET ${spec.set.map((c) => `${c.name} = ${fromText(c, 'v')}`).join(', ')}${more}
      FROM ${this.unnest([...spec.set, ...keys], rows)}
      WHERE ${spec.match.map((c) => `x.${c.name} = v.k_${c.name}`).join(' AND ')}`;
  }
}

/**
 * Every statement in a cycle touches a few hundred rows by key. On small and mid-sized tables the default
 * cost model (random_page_cost 4) prefers a sequential scan plus hash join, which costs time in proportion
 * to the table; in one round trip with BEGIN, tell the planner what is true for a hot working set.
 */
export const CYCLE_BEGIN = 'BEGIN; SET LOCAL random_page_cost = 1.1; SET LOCAL enable_sort = off';
export const SNAPSHOT_READ = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

export const expiredSql = (t: (table: string) => string): string =>
  `SELECT id, task_id FROM ${t('steps')} WHERE lease_expires_at IS NOT NULL AND lease_expires_at < $1
   ORDER BY lease_expires_at LIMIT $2`;

export const nextReadySql = (t: (table: string) => string): string =>
  `SELECT MIN(ready_at) AS at FROM ${t('steps')} WHERE ready_at IS NOT NULL`;

/**
 * The claim query ($1 now, $2 handlers or null, $3 limit). It locks the candidates' task rows in the same
 * statement, skipping tasks another worker holds, so concurrent workers take disjoint sets of tasks instead
 * of all reaching for the oldest ones. Only task rows are locked (never step rows), which keeps the
 * adapter's locking rule deadlock-free.
 */
export const readySql = (t: (table: string) => string): string =>
  `SELECT s.id, s.task_id FROM ${t('steps')} s JOIN ${t('tasks')} t ON t.id = s.task_id
   WHERE s.ready_at IS NOT NULL AND s.ready_at <= $1 AND t.status IN ('pending', 'in_progress')
     AND ($2::text[] IS NULL OR s.handler = ANY($2::text[]))
   ORDER BY s.ready_at, s.id LIMIT $3
   FOR UPDATE OF t SKIP LOCKED`;

/** $1 expiry, $2 step ids, $3 attempts, $4 the worker. */
export const extendLeasesSql = (t: (table: string) => string): string =>
  `UPDATE ${t('steps')} s SET lease_expires_at = $1
   FROM unnest($2::bigint[], $3::int[]) AS v(id, attempt)
   WHERE s.id = v.id AND s.attempts = v.attempt AND s.lease_owner = $4 AND s.status = 'in_progress'
   RETURNING s.id`;

/** $1 now, $2 bounds, $3 the cap, $4 the namespaces (when given). */
export const countReadySql = (t: (table: string) => string, byNamespace: boolean): string =>
  `SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM ${t('steps')} s
     ${byNamespace ? `JOIN ${t('tasks')} t ON t.id = s.task_id` : ''}
     WHERE s.ready_at IS NOT NULL AND s.ready_at <= $1 AND s.ready_at < b.at
       ${byNamespace ? 'AND t.namespace = ANY($4::text[])' : ''} LIMIT $3) x) AS n
   FROM unnest($2::bigint[]) WITH ORDINALITY AS b(at, i) ORDER BY b.i`;
