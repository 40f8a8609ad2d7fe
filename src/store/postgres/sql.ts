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
import pg from 'pg';
import { TaskerError } from '../../errors.js';
import type { WorkerRecord } from '../port.js';

const arrayType = (t: PgType): string => (t === 'jsonb' ? 'text' : t);

/** A column read from an unnested (text) value, cast back where it is jsonb. */
const fromText = (c: Column<never>, alias: string): string =>
  c.type === 'jsonb' ? `${alias}.${c.name}::jsonb` : `${alias}.${c.name}`;

/**
 * A value inlined into a simple-protocol text (which carries no parameters): a finite number, a string
 * escaped by the driver, or an array of either. Anything else is a caller's bug, refused, never rendered.
 */
export function literal(v: number | string | readonly number[] | readonly string[]): string {
  if (Array.isArray(v)) return `ARRAY[${v.map((x: number | string) => literal(x)).join(', ')}]`;
  if (typeof v === 'string') return pg.escapeLiteral(v);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new TaskerError('INTERNAL', `cannot inline ${String(v)} into a PostgreSQL statement`);
}

/** A select list with jsonb columns as text (rows.ts parses JSON text for both adapters). */
export function selectList(cols: Columns<never>, alias = ''): string {
  const p = alias ? `${alias}.` : '';
  return cols
    .map((c) => (c.type === 'jsonb' ? `${p}${c.name}::text AS ${c.name}` : `${p}${c.name}`))
    .join(', ');
}

export const TASK_SELECT = selectList(TASK_COLUMNS);
export const STEP_SELECT = selectList(STEP_READ);

/** Element type OIDs of the arrays the cycle binds (PostgreSQL's pg_type). */
const ELEMENT_OID: Record<PgType, number> = {
  uuid: 2950,
  text: 25,
  jsonb: 25, // travels as text, cast back in the statement
  bigint: 20,
  int: 23,
  float8: 701,
};

/**
 * A one-dimensional array in PostgreSQL's binary format (what array_send writes), which the driver binds
 * as a binary parameter. The text format cost both sides: the driver escapes every element with two
 * regular expressions, and the server parses every element's quoting; a busy cycle binds some twenty
 * arrays of a few hundred values. Text is UTF-8 with U+0000 as U+FFFD (PostgreSQL text cannot hold it).
 */
export function binaryArray(values: readonly unknown[], type: PgType): Buffer {
  const n = values.length;
  let size = 20 + 4 * n;
  let nulls = 0;
  const fixed = fixedSize(type);
  for (const v of values) {
    if (v === null || v === undefined) nulls = 1;
    else size += fixed ?? 3 * asText(v).length;
  }
  const b = Buffer.allocUnsafe(size);
  if (n === 0) {
    int32(b, 0, 0); // no dimensions
    int32(b, 4, 0);
    int32(b, 8, ELEMENT_OID[type]);
    return b.subarray(0, 12);
  }
  int32(b, 0, 1);
  int32(b, 4, nulls);
  int32(b, 8, ELEMENT_OID[type]);
  int32(b, 12, n);
  int32(b, 16, 1);
  let at = 20;
  for (const v of values) {
    if (v === null || v === undefined) {
      int32(b, at, -1);
      at += 4;
      continue;
    }
    switch (type) {
      case 'bigint': {
        const x = integer(v, type);
        const hi = Math.floor(x / 0x100000000);
        int32(b, at, 8);
        int32(b, at + 4, hi);
        int32(b, at + 8, x - hi * 0x100000000);
        at += 12;
        break;
      }
      case 'int':
        int32(b, at, 4);
        int32(b, at + 4, integer(v, type));
        at += 8;
        break;
      case 'float8':
        int32(b, at, 8);
        b.writeDoubleBE(Number(v), at + 4);
        at += 12;
        break;
      case 'uuid':
        int32(b, at, 16);
        uuidBytes(asText(v), b, at + 4);
        at += 20;
        break;
      default: {
        const len = utf8(asText(v), b, at + 4);
        int32(b, at, len);
        at += 4 + len;
      }
    }
  }
  return b.subarray(0, at);
}

/** A 32-bit big-endian integer (signed or not: the low 32 bits of `x`). */
function int32(b: Buffer, at: number, x: number): void {
  b[at] = x >>> 24;
  b[at + 1] = (x >>> 16) & 0xff;
  b[at + 2] = (x >>> 8) & 0xff;
  b[at + 3] = x & 0xff;
}

/**
 * Text as UTF-8 at `at`, its length returned; U+0000 as U+FFFD. Short ASCII (status words, names, ids) is
 * copied by a loop: a native write per value cost more than the copy.
 */
function utf8(s: string, b: Buffer, at: number): number {
  if (s.length <= 64) {
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0 || c > 0x7f) break;
      b[at + i] = c;
    }
    if (i === s.length) return i;
  }
  return b.write(s.includes('\u0000') ? s.replaceAll('\u0000', '\ufffd') : s, at, 'utf8');
}

/** Column readers give text columns strings (JSON ones already encoded); anything else as JSON. */
const asText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

function fixedSize(type: PgType): number | undefined {
  switch (type) {
    case 'bigint':
    case 'float8':
      return 8;
    case 'int':
      return 4;
    case 'uuid':
      return 16;
    default:
      return undefined;
  }
}

function integer(v: unknown, type: PgType): number {
  const x = Number(v);
  if (!Number.isSafeInteger(x) || (type === 'int' && (x > 0x7fffffff || x < -0x80000000)))
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `a ${type} column was given ${String(v)}, not an integer in range`,
    );
  return x;
}

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/** A uuid's 32 hex digits (dashes skipped) as its 16 bytes. */
function uuidBytes(s: string, b: Buffer, at: number): void {
  let k = 0;
  let high = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2d) continue;
    const h = c < 128 ? HEX[c]! : -1;
    if (h < 0 || k === 32) throw notUuid(s);
    if (k % 2 === 0) high = h << 4;
    else b[at + (k >> 1)] = high | h;
    k++;
  }
  if (k !== 32) throw notUuid(s);
}

const notUuid = (s: string) => new TaskerError('INVALID_ARGUMENT', `not a uuid: ${JSON.stringify(s)}`);

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
    const arrays = columnArrays(cols, rows).map(
      (a, i) => `${this.value(binaryArray(a, cols[i]!.type))}::${arrayType(cols[i]!.type)}[]`,
    );
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

/** A multi-row INSERT of `rows` into `table` in one statement (nothing when there are none). */
export async function insertRows<R>(
  c: { query(text: string, values: unknown[]): Promise<unknown> },
  t: (table: string) => string,
  table: string,
  cols: Columns<R>,
  rows: readonly R[],
  tail = '',
): Promise<void> {
  if (rows.length === 0) return;
  const p = new Params(t);
  await c.query(p.insert(table, cols, rows) + tail, p.args);
}

/**
 * Every statement in a cycle touches a few hundred rows by key. On small and mid-sized tables the default
 * cost model (random_page_cost 4) prefers a sequential scan plus hash join, which costs time in proportion
 * to the table; in one round trip with BEGIN, tell the planner what is true for a hot working set. Even
 * so, with statistics that lag a growing table it still hashed all 10,000 tasks to update 512 of them
 * (8.5 of a write's 33 ms, seen with auto_explain), so hash joins are off too: every join here is by key.
 */
export const CYCLE_BEGIN =
  'BEGIN; SET LOCAL random_page_cost = 1.1; SET LOCAL enable_sort = off; SET LOCAL enable_hashjoin = off';
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
    /** Values inlined (an indexed read is one simple-protocol text): each rendered by `literal`. */
    countReady: (now: string, bounds: string, cap: string, namespaces: string | null) =>
      `SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM ${t('steps')} s
         ${namespaces !== null ? `JOIN ${t('tasks')} t ON t.id = s.task_id` : ''}
         WHERE s.ready_at IS NOT NULL AND s.ready_at <= ${now} AND s.ready_at < b.at
           ${namespaces !== null ? `AND t.namespace = ANY(${namespaces}::text[])` : ''} LIMIT ${cap}) x) AS n
       FROM unnest(${bounds}::bigint[]) WITH ORDINALITY AS b(at, i) ORDER BY b.i`,
    /** $1 task ids. */
    attempts: `SELECT * FROM ${t('step_attempts')} WHERE task_id = ANY($1::uuid[])
      ORDER BY task_id, started_at, step_id, attempt`,
    /** $1 task id. */
    transitions: `SELECT task_id, entries FROM ${t('transition_log')} WHERE task_id = $1 ORDER BY id`,
    transitionsOf: `SELECT task_id, entries FROM ${t('transition_log')} WHERE task_id = ANY($1::uuid[]) ORDER BY task_id, id`,
    /** A page of tasks newest first, given a WHERE clause (store/task-filter.ts) and the limit's number. */
    listTasks: (where: string, order: string, limitParam: number) =>
      `SELECT ${selectList(TASK_COLUMNS, 't')} FROM ${t('tasks')} t ${where} ORDER BY ${order} LIMIT $${limitParam}`,
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
