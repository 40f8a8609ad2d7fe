/**
 * Row <-> record mapping shared by the adapters: the same snake_case columns in both schemas. JSON arrives
 * as TEXT (PostgreSQL queries select jsonb columns as ::text) and is parsed here, then frozen.
 */
import { deepFreeze } from '../core/json.js';
import type { AttemptRecord, StepRecord, TaskRecord, TransitionRecord } from '../core/records.js';
import type { StepState, TaskState } from '../core/states.js';
import type { RetryPolicy } from '../core/template.js';
import type { WorkerRecord } from './port.js';
import { jsonText } from './json-text.js';

export interface TaskRow {
  id: string;
  namespace: string;
  name: string;
  version: string;
  status: string;
  context: string;
  correlation_id: string;
  idempotency_key: string | null;
  tags: string;
  business: string | null;
  traceparent: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface StepRow {
  id: number;
  task_id: string;
  name: string;
  position: number;
  handler: string;
  status: string;
  depends_on: string;
  attempts: number;
  attempt_limit: number;
  retry: string;
  timeout_ms: number | null;
  handler_config: string;
  ready_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  queued_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  results: string | null;
  error_message: string | null;
  error_type: string | null;
}

export interface AttemptRow {
  step_id: number;
  attempt: number;
  queued_at: number | null;
  task_id: string;
  step_name: string;
  started_at: number;
  finished_at: number;
  duration_ms: number;
  outcome: string;
  error_message: string | null;
  error_type: string | null;
  worker_id: string | null;
}

/** A row of the transition log: one write's transitions of one task, in order (see transitionEntries). */
export interface TransitionLogRow {
  task_id: string;
  entries: string;
}

/** Parsed and frozen, exactly like the values the engine caches after writing them (core/json.ts). */
function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  return deepFreeze(JSON.parse(text) as T);
}

export function taskFromRow(r: TaskRow): TaskRecord {
  return mapTask(r, false);
}

/**
 * A task of a listed page: its context is parsed (and frozen) when first read. A list shows no context,
 * and parsing and freezing the rows' JSON, contexts mostly, was 14 % of the API process's CPU under 16
 * clients on PostgreSQL (profiled at 1,000,000 tasks; 9.5 % after, row mapping included). The property
 * stays where it was, enumerable, so spreads and JSON see the same record.
 */
export function listedTaskFromRow(r: TaskRow): TaskRecord {
  return mapTask(r, true);
}

function mapTask(r: TaskRow, lazyContext: boolean): TaskRecord {
  const task: TaskRecord = {
    id: r.id,
    namespace: r.namespace,
    name: r.name,
    version: r.version,
    status: r.status as TaskState,
    context: lazyContext ? {} : parseJson<Record<string, unknown>>(r.context, {}),
    correlationId: r.correlation_id,
    idempotencyKey: r.idempotency_key,
    tags: parseJson<string[]>(r.tags, []),
    business: parseJson(r.business, null),
    traceparent: r.traceparent ?? null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
  if (lazyContext) {
    let context: Record<string, unknown> | undefined;
    Object.defineProperty(task, 'context', {
      enumerable: true,
      configurable: true,
      get: () => (context ??= parseJson<Record<string, unknown>>(r.context, {})),
    });
  }
  return task;
}

export function stepFromRow(r: StepRow): StepRecord {
  return {
    id: r.id,
    taskId: r.task_id,
    name: r.name,
    position: r.position,
    handler: r.handler,
    status: r.status as StepState,
    dependsOn: parseJson<string[]>(r.depends_on, []),
    attempts: r.attempts,
    attemptLimit: r.attempt_limit,
    retry: parseJson<RetryPolicy>(r.retry, {
      retryable: true,
      maxAttempts: 3,
      backoff: { baseSeconds: 1, multiplier: 2, maxSeconds: 300, jitter: 0.1 },
    }),
    timeoutMs: r.timeout_ms,
    handlerConfig: parseJson<Record<string, unknown>>(r.handler_config, {}),
    readyAt: r.ready_at,
    leaseOwner: r.lease_owner,
    leaseExpiresAt: r.lease_expires_at,
    queuedAt: r.queued_at ?? null,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    results: parseJson<unknown>(r.results, null),
    errorMessage: r.error_message,
    errorType: r.error_type,
  };
}

export function attemptFromRow(r: AttemptRow): AttemptRecord {
  return {
    taskId: r.task_id,
    stepId: r.step_id,
    stepName: r.step_name,
    attempt: r.attempt,
    queuedAt: r.queued_at ?? null,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationMs: r.duration_ms,
    outcome: r.outcome as AttemptRecord['outcome'],
    errorMessage: r.error_message,
    errorType: r.error_type,
    workerId: r.worker_id,
  };
}

/** One entry of the transition log, positionally (the task is the row's). */
type TransitionEntry = [
  stepName: string | null,
  fromState: string | null,
  toState: string,
  at: number,
  attempt: number | null,
  reason: string | null,
  errorType: string | null,
];

/**
 * The transitions one write made to one task, as the text of one transition-log row: a JSON array of
 * positional entries. A one-step task's run writes two rows instead of four (claim: the task's and the
 * step's; completion: the step's and the task's), and a chain's step one instead of two.
 */
export function transitionEntries(list: readonly TransitionRecord[]): string {
  return jsonText(
    list.map((t): TransitionEntry => [
      t.stepName,
      t.fromState,
      t.toState,
      t.at,
      t.attempt,
      t.reason,
      t.errorType,
    ]),
  );
}

/** A task's transition-log rows, in id order, as the transitions they hold, in order. */
export function transitionsFromLog(rows: readonly TransitionLogRow[]): TransitionRecord[] {
  const out: TransitionRecord[] = [];
  for (const r of rows) {
    for (const [stepName, fromState, toState, at, attempt, reason, errorType] of JSON.parse(
      r.entries,
    ) as TransitionEntry[]) {
      out.push({ taskId: r.task_id, stepName, fromState, toState, at, attempt, reason, errorType });
    }
  }
  return out;
}

/** Results are stored as JSON; `undefined` (a handler that returns nothing) is stored as null. */
export function resultsJson(v: unknown): string | null {
  return v === undefined ? null : jsonText(v);
}

export interface WorkerRow {
  id: string;
  host: string;
  pid: number;
  version: string;
  started_at: number;
  heartbeat_at: number;
  expires_at: number;
  stopped_at: number | null;
  concurrency: number;
  in_flight: number;
  handlers: string;
}

/** A registry row; `leased` (the leases the worker holds now) wins over its last reported in_flight. */
export function workerFromRow(r: WorkerRow, leased: number | undefined): WorkerRecord {
  return {
    id: r.id,
    host: r.host,
    pid: Number(r.pid),
    version: r.version,
    startedAt: Number(r.started_at),
    heartbeatAt: Number(r.heartbeat_at),
    expiresAt: Number(r.expires_at),
    stoppedAt: r.stopped_at === null ? null : Number(r.stopped_at),
    concurrency: Number(r.concurrency),
    inFlight: leased ?? Number(r.in_flight),
    handlers: parseJson<string[]>(r.handlers, []),
  };
}
