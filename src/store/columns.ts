/**
 * One column list per table the engine writes: each column's name, its PostgreSQL type and how a record
 * gives its value. SQLite's placeholders and bound values, PostgreSQL's bound arrays (`unnest($1::uuid[],
 * …)`) and their values all come from these lists (sqlite/sql.ts, postgres/sql.ts), so adding a column
 * touches one place. JSON columns are bound as text in both dialects (PostgreSQL casts them to jsonb).
 */
import type { BusinessKeys } from '../core/business-impact.js';
import type { AttemptRecord, NewStepRecord, StepRecord, TaskRecord } from '../core/records.js';
import type { StepWrite } from '../core/task-workspace.js';
import type { WorkerRecord } from './port.js';
import { jsonText } from './json-text.js';
import { resultsJson } from './rows.js';

export type PgType = 'uuid' | 'text' | 'bigint' | 'int' | 'float8' | 'jsonb';

export interface Column<R> {
  readonly name: string;
  readonly type: PgType;
  readonly value: (row: R) => unknown;
  /** The property path `value` reads (JSON columns: then written as text); absent for computed columns. */
  readonly path?: readonly string[];
}

export type Columns<R> = ReadonlyArray<Column<R>>;

/** A computed column. */
export const col = <R>(name: string, type: PgType, value: (row: R) => unknown): Column<R> => ({
  name,
  type,
  value,
});

/**
 * A column that reads a property path. Its reader is generated code (`r.task.id`), one function per column,
 * because one shared closure reading `r[field]` sees every field of every table at a single property
 * access: V8 turns that access megamorphic, and a busy cycle reads some twenty columns per step.
 */
function pathCol<R>(name: string, type: PgType, path: readonly string[]): Column<R> {
  return { name, type, path, value: compile<(row: R) => unknown>(`(r) => ${read(type, path)}`, []) };
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

function read(type: PgType, path: readonly string[]): string {
  for (const p of path)
    if (!IDENT.test(p)) throw new Error(`column path ${path.join('.')}: not an identifier`);
  const get = `r.${path.join('.')}`;
  return type === 'jsonb' ? `json(${get})` : get;
}

/** `source` is built from column paths checked against IDENT, never from data. */
function compile<F>(source: string, computed: ReadonlyArray<(row: never) => unknown>): F {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- IDENT-checked column paths only, see pathCol
  const make = new Function('json', 'f', `return ${source};`) as (
    json: typeof nullableJson,
    f: typeof computed,
  ) => F;
  return make(nullableJson, computed);
}

/** The same columns read from a record under the property `key` (a task inside a write, say). */
export function on<R, K extends keyof R & string>(cols: Columns<R[K]>, key: K): Columns<R> {
  return cols.map((c) =>
    c.path ? pathCol<R>(c.name, c.type, [key, ...c.path]) : col(c.name, c.type, (r: R) => c.value(r[key])),
  );
}

/** The named columns of a list, in the list's order. */
export function pick<R>(cols: Columns<R>, names: string): Columns<R> {
  const wanted = names.split(' ');
  return cols.filter((c) => wanted.includes(c.name));
}

type Snake<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${Snake<T>}`
  : '';
/** The column names a record's fields map to (camelCase field, snake_case column). */
type FieldColumn<R> = { [K in keyof R & string]: Snake<K> }[keyof R & string];
/** A `column[:type]` word that names no field of R or no PostgreSQL type (never when it is right). */
type BadWord<R, W extends string> = W extends `${infer N}:${infer T}`
  ? N extends FieldColumn<R>
    ? T extends PgType
      ? never
      : W
    : W
  : W extends FieldColumn<R>
    ? never
    : W;
type Unknown<R, S extends string> = S extends `${infer W} ${infer Rest}`
  ? BadWord<R, W> | Unknown<R, Rest>
  : BadWord<R, S>;

const camel = (name: string): string => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Columns that hold a record's field of the same name, as `column[:type]` words (type text unless given),
 * checked against the record's fields at compile time. JSON is written as text (null stays NULL).
 */
export function fields<R>() {
  return <S extends string>(
    spec: S & ([Unknown<R, S>] extends [never] ? unknown : `no field or type for ${Unknown<R, S>}`),
  ): Columns<R> =>
    spec.split(' ').map((word) => {
      const [name = word, type = 'text'] = word.split(':') as [string, PgType?];
      return pathCol<R>(name, type, [camel(name)]);
    });
}

const nullableJson = (v: unknown): string | null => (v === null ? null : jsonText(v));

export const names = (cols: Columns<never>): string => cols.map((c) => c.name).join(', ');

/**
 * A generated function that appends a row's values in column order to `out`: path columns read inline,
 * computed ones called. Built once per column list (see pathCol for why generated).
 */
export type RowWriter<R> = (row: R, out: unknown[]) => void;

const writers = new WeakMap<object, RowWriter<never>>();

export function rowWriter<R>(cols: Columns<R>): RowWriter<R> {
  let w = writers.get(cols) as RowWriter<R> | undefined;
  if (!w) {
    w = generate<RowWriter<R>>(cols, (values) => `(r, out) => { out.push(${values}); }`);
    writers.set(cols, w);
  }
  return w;
}

/** A generated `(statement, row) => statement.run(…values)`: positional arguments, no array per row. */
export type RowRunner<R, T> = (stmt: { run(...values: unknown[]): T }, row: R) => T;

export function rowRunner<R, T>(cols: Columns<R>): RowRunner<R, T> {
  return generate<RowRunner<R, T>>(cols, (values) => `(s, r) => s.run(${values})`);
}

/** Path columns read inline, computed ones called as `f[i](r)`. */
function generate<F>(cols: Columns<never>, body: (values: string) => string): F {
  const computed: Array<(row: never) => unknown> = [];
  const values = cols.map((c) => {
    if (c.path) return read(c.type, c.path);
    computed.push(c.value);
    return `f[${computed.length - 1}](r)`;
  });
  return compile<F>(body(values.join(', ')), computed);
}

/** One row's values in column order (SQLite binds rows). */
export function rowValues<R>(cols: Columns<R>, row: R): unknown[] {
  const out: unknown[] = [];
  rowWriter(cols)(row, out);
  return out;
}

/** One array per column (PostgreSQL binds columns as arrays and unnests them). */
export function columnArrays<R>(cols: Columns<R>, rows: readonly R[]): unknown[][] {
  return cols.map((c) => rows.map(c.value));
}

/** A fenced batch UPDATE: `set` columns written where every `match` column still equals its value. */
export interface UpdateSpec<R> {
  table: string;
  set: Columns<R>;
  match: Columns<R>;
}

const task = fields<TaskRecord>();
export const TASK_COLUMNS: Columns<TaskRecord> = task(
  'id:uuid namespace name version status context:jsonb correlation_id idempotency_key tags:jsonb business:jsonb',
).concat(task('traceparent created_at:bigint updated_at:bigint started_at:bigint finished_at:bigint'));

/** A task as inserted: its record and the business columns derived from it (core/business-impact.ts). */
export interface NewTaskRow {
  task: TaskRecord;
  keys: BusinessKeys;
}

export const TASK_INSERT: Columns<NewTaskRow> = [
  ...on<NewTaskRow, 'task'>(TASK_COLUMNS, 'task'),
  col('business_value', 'float8', (r) => r.keys.value),
  col('business_customer', 'text', (r) => r.keys.customer),
  col('business_region', 'text', (r) => r.keys.region),
  col('business_tier', 'text', (r) => r.keys.tier),
];

/** What a cycle changes on a task row (each dialect adds its own fence). */
export const TASK_SET = pick(TASK_COLUMNS, 'status updated_at started_at finished_at');
export const TASK_ID = pick(TASK_COLUMNS, 'id');

export const TASK_TAGS = fields<{ taskId: string; tag: string }>()('task_id:uuid tag');

const step = fields<NewStepRecord>();
/** Every step column but the id the database assigns. */
export const STEP_COLUMNS: Columns<NewStepRecord> = [
  ...step('task_id:uuid name position:int handler status depends_on:jsonb attempts:int attempt_limit:int'),
  ...step(
    'retry:jsonb timeout_ms:int handler_config:jsonb ready_at:bigint lease_owner lease_expires_at:bigint',
  ),
  ...step('queued_at:bigint started_at:bigint finished_at:bigint'),
  col('results', 'jsonb', (s) => resultsJson(s.results)),
  ...step('error_message error_type'),
];

export const STEP_READ: Columns<StepRecord> = [col('id', 'bigint', (s) => s.id), ...STEP_COLUMNS];

/** A new step starts unleased, never run: the columns after ready_at keep their defaults (NULL). */
export const STEP_INSERT = STEP_COLUMNS.slice(0, STEP_COLUMNS.findIndex((c) => c.name === 'ready_at') + 1);

/** What a step write changes: its state, never what the template fixed at creation. */
const STEP_STATE = 'status attempts attempt_limit ready_at lease_owner lease_expires_at queued_at started_at';

export const STEP_UPDATE: UpdateSpec<StepWrite> = {
  table: 'steps',
  set: on<StepWrite, 'record'>(
    pick(STEP_COLUMNS, `${STEP_STATE} finished_at results error_message error_type`),
    'record',
  ),
  // Fenced on what the workspace loaded: a step another transaction moved on is not overwritten.
  match: [
    col('id', 'bigint', (w) => w.record.id),
    col('status', 'text', (w) => w.expectStatus),
    col('attempts', 'int', (w) => w.expectAttempts),
  ],
};

/** A transition-log row as written: the task and its entries' JSON (rows.ts transitionEntries). */
export interface NewTransitionLogRow {
  taskId: string;
  entries: string;
}

export const TRANSITION_LOG_INSERT = fields<NewTransitionLogRow>()('task_id:uuid entries');

/** A finished attempt and its failure group (core/failure-groups.ts attemptCause). */
export interface AttemptRow {
  attempt: AttemptRecord;
  cause: { signature: string | null; fingerprint: string | null };
}

const attempt = fields<AttemptRecord>();
export const ATTEMPT_INSERT: Columns<AttemptRow> = [
  ...on<AttemptRow, 'attempt'>(
    attempt('step_id:bigint attempt:int task_id:uuid step_name started_at:bigint finished_at:bigint').concat(
      attempt('duration_ms:bigint outcome error_message error_type worker_id queued_at:bigint'),
    ),
    'attempt',
  ),
  col('error_signature', 'text', (r) => r.cause.signature),
  col('error_fingerprint', 'text', (r) => r.cause.fingerprint),
];

export const WORKER_INSERT = fields<WorkerRecord>()(
  'id host pid:int version started_at:bigint heartbeat_at:bigint expires_at:bigint stopped_at:bigint concurrency:int',
).concat(fields<WorkerRecord>()('in_flight:int handlers:jsonb'));

/** Registry columns a later save of the same worker replaces. */
export const WORKER_UPSERT = 'heartbeat_at expires_at stopped_at in_flight handlers concurrency'.split(' ');
