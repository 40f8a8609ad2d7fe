/**
 * Library options, compiled once: defaults filled, every field validated with an error that names it,
 * and a resolved type the internals use without re-checking.
 */
import type { Logger } from 'pino';
import type { TaskTemplate } from '../core/template.js';
import { DEFAULT_FILTER_MASK, DEFAULT_FILTER_PARAMETERS } from '../core/redact.js';
import { TaskerError } from '../errors.js';
import { compileTelemetry, type ResolvedTelemetry, type TelemetryOptions } from './telemetry.js';
import type { HandlerMap } from '../runtime/handlers.js';
import type { TaskStore } from '../store/port.js';

export interface TaskerOptions {
  /**
   * Where tasks live: `sqlite:<path>` (or a plain path, or `:memory:`) for the embedded store, or
   * `postgres://user@host:port/database[?schema=name]` for many workers sharing PostgreSQL.
   * @default 'sqlite:./.tasker/tasker.db'
   */
  database?: string;
  /** PostgreSQL schema holding all of the engine's tables (also `?schema=` in the URL). @default 'tasker' */
  postgresSchema?: string;
  /**
   * Apply pending schema migrations on open. SQLite always does. For PostgreSQL the default is false: a
   * schema that is missing or behind is refused with the migration to apply (`tasker db migrate`), so a
   * deploy never changes a shared database as a side effect of starting a worker. @default false
   */
  migrate?: boolean;
  /** A ready store (overrides `database`). */
  store?: TaskStore;
  /** Template objects, or a YAML file / folder of YAML files to load. */
  templates?: TaskTemplate[] | string | Array<TaskTemplate | string>;
  /** Handler record, or the path of a module exporting one. */
  handlers?: HandlerMap | string;
  /** Steps running at once in this process. @default 10 */
  concurrency?: number;
  /** Steps of one task running at once in this process. @default concurrency */
  perTaskConcurrency?: number;
  /** A worker that stops renewing its lease for this long is presumed dead. @default 30 */
  leaseSeconds?: number;
  /** How often an idle worker looks for work created by other processes. @default 1000 */
  pollIntervalMs?: number;
  /**
   * SQLite durability. `full`: every commit is fsynced before anything is acknowledged, so it survives
   * power loss. `normal`: survives process crashes (kill -9) but the last commits may be lost on power
   * loss; faster hand-offs when the engine is not saturated. @default 'full'
   */
  sqliteSynchronous?: 'normal' | 'full';
  /** How long to wait for another process's SQLite write lock. @default 5000 */
  sqliteBusyTimeoutMs?: number;
  /** A pino logger, or false for none. @default a JSON logger on stderr at TASKER_LOG_LEVEL or 'info' */
  logger?: Logger | false;
  /** Identifies this process's leases. @default `<host>:<pid>:<random>` */
  workerId?: string;
  /**
   * Context keys whose values are masked wherever they leave the engine (API, CLI, logs, spans, events).
   * Matched case-insensitively as fragments: `password` also masks `password_confirmation`.
   * @default password, passwd, secret, token, api_key, apikey, access_key, private_key, authorization,
   * credit_card, card_number, cvv, cvc, ssn
   */
  filterParameters?: string[];
  /** What a masked value becomes. @default '[FILTERED]' */
  filterMask?: string;
  /** Logs, traces, metrics, redaction, event sampling and thresholds (the seed's `config.telemetry`). */
  telemetry?: TelemetryOptions;
  /**
   * Record this process's worker in the shared registry (a row per worker, saved every heartbeat), so the
   * console and `GET /tasker/workers` can list live workers and their handlers. @default true
   */
  workerRegistry?: boolean;
  /** Clock and randomness, for tests. */
  now?: () => number;
  random?: () => number;
}

export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export interface ResolvedOptions {
  database: DatabaseTarget;
  concurrency: number;
  perTaskConcurrency: number;
  leaseMs: number;
  heartbeatMs: number;
  pollMs: number;
  recoveryIntervalMs: number;
  sqliteSynchronous: 'normal' | 'full';
  sqliteBusyTimeoutMs: number;
  filterParameters: readonly string[];
  filterMask: string;
  telemetry: ResolvedTelemetry;
  workerRegistry: boolean;
  now: () => number;
  random: () => number;
}

export const DEFAULT_DATABASE = 'sqlite:./.tasker/tasker.db';

export function parseDatabase(value: string, field = 'database'): DatabaseTarget {
  const v = value.trim();
  if (v === ':memory:' || v === 'sqlite::memory:') return { kind: 'sqlite', path: ':memory:' };
  if (v.startsWith('sqlite://'))
    return { kind: 'sqlite', path: nonEmpty(v.slice('sqlite://'.length), field, value) };
  if (v.startsWith('sqlite:'))
    return { kind: 'sqlite', path: nonEmpty(v.slice('sqlite:'.length), field, value) };
  if (v.startsWith('postgres://') || v.startsWith('postgresql://')) return { kind: 'postgres', url: v };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    throw new TaskerError(
      'CONFIG_INVALID',
      `${field}: unsupported database URL "${value}"; expected sqlite:<path> or postgres://…`,
      {
        field,
        value,
      },
    );
  }
  return { kind: 'sqlite', path: nonEmpty(v, field, value) };
}

function nonEmpty(path: string, field: string, value: string): string {
  if (path.length === 0) {
    throw new TaskerError('CONFIG_INVALID', `${field}: "${value}" names no file; expected sqlite:<path>`, {
      field,
      value,
    });
  }
  return path;
}

function positiveInt(v: unknown, field: string, dflt: number, max = 1_000_000): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw new TaskerError(
      'CONFIG_INVALID',
      `${field}: expected a positive integer up to ${max}, got ${JSON.stringify(v)}`,
      { field, value: v },
    );
  }
  return v;
}

function numberIn(v: unknown, field: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new TaskerError(
      'CONFIG_INVALID',
      `${field}: expected a number from ${min} to ${max}, got ${JSON.stringify(v)}`,
      { field, value: v },
    );
  }
  return v;
}

function stringList(v: unknown, field: string, dflt: readonly string[]): readonly string[] {
  if (v === undefined) return dflt;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.trim() === '')) {
    throw new TaskerError(
      'CONFIG_INVALID',
      `${field}: expected a list of non-empty strings, got ${JSON.stringify(v)}`,
      { field, value: v },
    );
  }
  return v as string[];
}

function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean')
    throw new TaskerError('CONFIG_INVALID', `${field}: expected true or false, got ${JSON.stringify(v)}`, {
      field,
      value: v,
    });
  return v;
}

function nonEmptyString(v: unknown, field: string, dflt: string): string {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || v === '') {
    throw new TaskerError(
      'CONFIG_INVALID',
      `${field}: expected a non-empty string, got ${JSON.stringify(v)}`,
      {
        field,
        value: v,
      },
    );
  }
  return v;
}

export function compileOptions(o: TaskerOptions): ResolvedOptions {
  const concurrency = positiveInt(o.concurrency, 'concurrency', 10, 10_000);
  // At least 0.5 s so a heartbeat (every lease/3) always lands well inside the lease; at most a day.
  const leaseMs = Math.round(numberIn(o.leaseSeconds, 'leaseSeconds', 30, 0.5, 86_400) * 1000);
  const sync = o.sqliteSynchronous ?? 'full';
  if (sync !== 'normal' && sync !== 'full') {
    throw new TaskerError(
      'CONFIG_INVALID',
      `sqliteSynchronous: expected "normal" or "full", got ${JSON.stringify(sync)}`,
      {
        field: 'sqliteSynchronous',
      },
    );
  }
  const telemetry = compileTelemetry(o.telemetry);
  return {
    database: parseDatabase(o.database ?? DEFAULT_DATABASE),
    concurrency,
    perTaskConcurrency: positiveInt(o.perTaskConcurrency, 'perTaskConcurrency', concurrency),
    leaseMs,
    // Renew three times per lease, so one slow heartbeat never loses a lease.
    heartbeatMs: Math.floor(leaseMs / 3),
    pollMs: positiveInt(o.pollIntervalMs, 'pollIntervalMs', 1000, 3_600_000),
    recoveryIntervalMs: Math.max(100, Math.floor(leaseMs / 2)),
    sqliteSynchronous: sync,
    sqliteBusyTimeoutMs: positiveInt(o.sqliteBusyTimeoutMs, 'sqliteBusyTimeoutMs', 5000, 600_000),
    filterParameters:
      telemetry.filterParameters ??
      stringList(o.filterParameters, 'filterParameters', DEFAULT_FILTER_PARAMETERS),
    filterMask: telemetry.filterMask ?? nonEmptyString(o.filterMask, 'filterMask', DEFAULT_FILTER_MASK),
    telemetry,
    workerRegistry: bool(o.workerRegistry, 'workerRegistry', true),
    now: o.now ?? Date.now,
    random: o.random ?? Math.random,
  };
}
