/**
 * Library options, compiled once from the settings table (settings-table.ts): defaults filled, every field
 * validated with an error that names it, and a resolved type the internals use without re-checking.
 */
import type { Logger } from 'pino';
import type { TaskTemplate } from '../core/template.js';
import type { DatabaseTarget } from './database.js';
import { ENGINE_SETTINGS, type LOADED_SETTINGS } from './settings-table.js';
import { checkTable, type AssertNever, type Mismatched, type OptionsOf } from './spec.js';
import {
  compileTelemetry,
  type FieldNamer,
  type ResolvedTelemetry,
  type TelemetryOptions,
} from './telemetry.js';
import type { HandlerMap } from '../runtime/handlers.js';
import { compileRetention, type ResolvedRetention, type RetentionOptions } from './retention.js';
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
  /**
   * How long finished tasks are kept, by how they ended, and audit entries: durations such as `7d`, `12h`
   * or `never`. A template's own `retention` overrides it for its tasks. `tasker db prune` and
   * `Tasker.prune()` delete what is older. @default {completed: '7d', failed: '30d', cancelled: '7d', audit: '365d'}
   */
  retention?: RetentionOptions;
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

export { DEFAULT_DATABASE, parseDatabase, type DatabaseTarget } from './database.js';

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
  retention: ResolvedRetention;
  workerRegistry: boolean;
  now: () => number;
  random: () => number;
}

// TaskerOptions keeps its docs for editors; a key in it or in the table alone is a compile error.
type TableOptions = OptionsOf<typeof ENGINE_SETTINGS> & OptionsOf<typeof LOADED_SETTINGS>;
/** Objects only a program can pass, so no file key, variable or table entry. */
type HostObjects = 'store' | 'logger' | 'now' | 'random';
export type _OptionsTableMatches = [
  AssertNever<Exclude<keyof TaskerOptions, keyof TableOptions | HostObjects>>,
  AssertNever<Exclude<keyof TableOptions, keyof TaskerOptions>>,
  AssertNever<Mismatched<TableOptions, TaskerOptions>>,
];

/**
 * How a setting is named in errors, from its option key (`concurrency`) or its path in the telemetry
 * section (`telemetry.prometheus.job_timeout`). The CLI names where a value came from (file, variable).
 */
export type SettingNamer = (path: string, fallback: string) => string;
const libraryNames: SettingNamer = (_path, fallback) => fallback;

export function compileOptions(o: TaskerOptions, name: SettingNamer = libraryNames): ResolvedOptions {
  const v = checkTable(
    ENGINE_SETTINGS,
    (e) => (o as Record<string, unknown>)[e.key],
    (e) => name(e.key, e.key),
  );
  const telemetryNames: FieldNamer = (p) =>
    name(p ? `telemetry.${p}` : 'telemetry', p ? `telemetry.${p}` : 'telemetry');
  const telemetry = compileTelemetry(v.telemetry, telemetryNames);
  const retention = compileRetention(v.retention, (p) =>
    name(p ? `retention.${p}` : 'retention', p ? `retention.${p}` : 'retention'),
  );
  const leaseMs = Math.round(v.leaseSeconds * 1000);
  return {
    database: v.database,
    concurrency: v.concurrency,
    perTaskConcurrency: v.perTaskConcurrency ?? v.concurrency,
    leaseMs,
    // Renew three times per lease, so one slow heartbeat never loses a lease.
    heartbeatMs: Math.floor(leaseMs / 3),
    pollMs: v.pollIntervalMs,
    recoveryIntervalMs: Math.max(100, Math.floor(leaseMs / 2)),
    sqliteSynchronous: v.sqliteSynchronous,
    sqliteBusyTimeoutMs: v.sqliteBusyTimeoutMs,
    filterParameters: telemetry.filterParameters ?? v.filterParameters,
    filterMask: telemetry.filterMask ?? v.filterMask,
    telemetry,
    retention,
    workerRegistry: v.workerRegistry,
    now: o.now ?? Date.now,
    random: o.random ?? Math.random,
  };
}
