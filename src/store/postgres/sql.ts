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
  WORKER_INSERT,
  WORKER_UPSERT,
} from '../columns.js';
import type { WorkerRecord } from '../port.js';

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

/** The statements of one schema, built once per store (`t` names a table of the schema). */
export function statements(t: (table: string) => string) {
  return {
    /** $1 ids. */
    tasks: `SELECT ${TASK_SELECT} FROM ${t('tasks')} WHERE id = ANY($1::uuid[])`,
    /** $1 ids: lock the rows in id order (so two workers never deadlock), reading all or only revisions. */
    lockTasks: (light: boolean, mode: 'wait' | 'skip') =>
      `SELECT ${light ? 'id' : TASK_SELECT}, revision FROM ${t('tasks')} WHERE id = ANY($1::uuid[])
       ORDER BY id FOR UPDATE${mode === 'skip' ? ' SKIP LOCKED' : ''}`,
    /** $1 idempotency keys. */
    tasksByKey: `SELECT ${TASK_SELECT} FROM ${t('tasks')} WHERE idempotency_key = ANY($1::text[])`,
    /** $1 task ids. */
    stepsOf: `SELECT ${STEP_SELECT} FROM ${t('steps')} WHERE task_id = ANY($1::uuid[]) ORDER BY task_id, position`,
    /** A task and its steps as of one snapshot, in one simple-protocol round trip (`id`: a checked uuid). */
    snapshotOf: (id: string) => `${SNAPSHOT_READ};
       SELECT ${TASK_SELECT} FROM ${t('tasks')} WHERE id = '${id}'::uuid;
       SELECT ${STEP_SELECT} FROM ${t('steps')} WHERE task_id = '${id}'::uuid ORDER BY position;
       COMMIT`,
    /** $1 now, $2 limit. */
    expired: `SELECT id, task_id FROM ${t('steps')} WHERE lease_expires_at IS NOT NULL AND lease_expires_at < $1
      ORDER BY lease_expires_at LIMIT $2`,
    nextReady: `SELECT MIN(ready_at) AS at FROM ${t('steps')} WHERE ready_at IS NOT NULL`,
    /**
     * The claim query ($1 now, $2 handlers or null, $3 limit). It locks the candidates' task rows in the
     * same statement, skipping tasks another worker holds, so concurrent workers take disjoint sets of
     * tasks instead of all reaching for the oldest ones. Only task rows are locked (never step rows), which
     * keeps the adapter's locking rule deadlock-free.
     */
    ready: `SELECT s.id, s.task_id FROM ${t('steps')} s JOIN ${t('tasks')} t ON t.id = s.task_id
      WHERE s.ready_at IS NOT NULL AND s.ready_at <= $1 AND t.status IN ('pending', 'in_progress')
        AND ($2::text[] IS NULL OR s.handler = ANY($2::text[]))
      ORDER BY s.ready_at, s.id LIMIT $3
      FOR UPDATE OF t SKIP LOCKED`,
    /** $1 expiry, $2 step ids, $3 attempts, $4 the worker. */
    extendLeases: `UPDATE ${t('steps')} s SET lease_expires_at = $1
      FROM unnest($2::bigint[], $3::int[]) AS v(id, attempt)
      WHERE s.id = v.id AND s.attempts = v.attempt AND s.lease_owner = $4 AND s.status = 'in_progress'
      RETURNING s.id`,
    /** $1 now, $2 bounds, $3 the cap, $4 the namespaces (when given). */
    countReady: (byNamespace: boolean) =>
      `SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM ${t('steps')} s
         ${byNamespace ? `JOIN ${t('tasks')} t ON t.id = s.task_id` : ''}
         WHERE s.ready_at IS NOT NULL AND s.ready_at <= $1 AND s.ready_at < b.at
           ${byNamespace ? 'AND t.namespace = ANY($4::text[])' : ''} LIMIT $3) x) AS n
       FROM unnest($2::bigint[]) WITH ORDINALITY AS b(at, i) ORDER BY b.i`,
    /** $1 task ids. */
    attempts: `SELECT * FROM ${t('step_attempts')} WHERE task_id = ANY($1::uuid[])
      ORDER BY task_id, started_at, step_id, attempt`,
    /** $1 task id. */
    transitions: `SELECT * FROM ${t('transitions')} WHERE task_id = $1 ORDER BY id`,
    /** A page of tasks newest first, given a WHERE clause (store/task-filter.ts) and the limit's number. */
    listTasks: (where: string, limitParam: number) =>
      `SELECT ${selectList(TASK_COLUMNS, 't')} FROM ${t('tasks')} t ${where} ORDER BY t.id DESC LIMIT $${limitParam}`,
    countTasks: (where: string) => `SELECT COUNT(*)::int AS n FROM ${t('tasks')} t ${where}`,
    runningByTemplate: `SELECT namespace, name, COUNT(*) AS count FROM ${t('tasks')} WHERE status = 'in_progress'
      GROUP BY namespace, name`,
    /** $1 now. */
    readyByNamespace: `SELECT t.namespace, COUNT(*) AS count FROM ${t('steps')} s JOIN ${t('tasks')} t
      ON t.id = s.task_id WHERE s.ready_at IS NOT NULL AND s.ready_at <= $1 GROUP BY t.namespace`,
    /** Upsert a registry row and delete those ended before the cutoff, in one statement. */
    saveWorker: (p: Params, w: WorkerRecord, cutoff: number) =>
      `WITH up AS (
         INSERT INTO ${t('workers')} (${names(WORKER_INSERT)})
         VALUES (${WORKER_INSERT.map((c) => p.value(c.value(w), c.type === 'jsonb' ? 'jsonb' : undefined)).join(', ')})
         ON CONFLICT (id) DO UPDATE SET ${WORKER_UPSERT.map((c) => `${c} = excluded.${c}`).join(', ')}
       )
       DELETE FROM ${t('workers')} WHERE COALESCE(stopped_at, expires_at) < ${p.value(cutoff)}`,
    /** $1 now, $2 ended after. */
    workers: `SELECT ${selectList(WORKER_INSERT)} FROM ${t('workers')}
      WHERE (stopped_at IS NULL AND expires_at >= $1) OR COALESCE(stopped_at, expires_at) >= $2
      ORDER BY started_at DESC`,
    leasesByOwner: `SELECT lease_owner AS id, COUNT(*) AS n FROM ${t('steps')} WHERE lease_expires_at IS NOT NULL
      GROUP BY lease_owner`,
  };
}

export type Statements = ReturnType<typeof statements>;
