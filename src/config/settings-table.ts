/**
 * The top-level settings: the library option, the tasker.config.yaml key, the TASKER_* variables, kind,
 * default, bounds and doc of each. compileOptions, the config file and environment readers, the CLI's
 * settings and docs/configuration.md are derived from these tables; the `telemetry:` and `console:`
 * sections have their own (telemetry-table.ts, console.ts). The `auth:` section is read by its own code
 * (auth-section.ts, tokens.ts): a list of token records does not fit one value per key.
 */
import { DEFAULT_FILTER_MASK, DEFAULT_FILTER_PARAMETERS } from '../core/redact.js';
import { DEFAULT_DATABASE } from './database.js';
import type { SettingSpec } from './spec.js';
import { LOG_LEVELS } from './telemetry-table.js';

/** Compiled by compileOptions into what the engine runs with. */
export const ENGINE_SETTINGS = [
  {
    key: 'database',
    file: 'database',
    env: ['TASKER_DATABASE_URL', 'TASKER_DB'],
    kind: { type: 'database' },
    default: DEFAULT_DATABASE,
    doc: 'Where tasks live: `sqlite:<path>` (or a plain path, or `:memory:`), or `postgres://user@host:port/database[?schema=name]`.',
  },
  {
    key: 'postgresSchema',
    file: 'postgres_schema',
    only: 'library',
    kind: { type: 'string' },
    defaultDoc: "'tasker' (or `?schema=` in the URL)",
    doc: "PostgreSQL schema holding all of the engine's tables.",
  },
  {
    key: 'migrate',
    file: 'migrate',
    only: 'library',
    kind: { type: 'bool' },
    default: false,
    doc: 'Apply pending schema migrations on open (SQLite always does; for PostgreSQL run `tasker db migrate`).',
  },
  {
    key: 'concurrency',
    file: 'concurrency',
    env: ['TASKER_CONCURRENCY'],
    kind: { type: 'int', min: 1, max: 10_000 },
    default: 10,
    doc: 'Steps running at once in this process.',
  },
  {
    key: 'perTaskConcurrency',
    file: 'per_task_concurrency',
    env: ['TASKER_PER_TASK_CONCURRENCY'],
    kind: { type: 'int', min: 1, max: 1_000_000 },
    defaultDoc: 'concurrency',
    doc: 'Steps of one task running at once in this process.',
  },
  {
    key: 'leaseSeconds',
    file: 'lease_seconds',
    env: ['TASKER_LEASE_SECONDS'],
    // At least 0.5 s so a heartbeat (every lease/3) always lands well inside the lease; at most a day.
    kind: { type: 'number', min: 0.5, max: 86_400 },
    default: 30,
    doc: 'A worker that stops renewing its lease for this long is presumed dead.',
  },
  {
    key: 'pollIntervalMs',
    file: 'poll_interval_ms',
    env: ['TASKER_POLL_INTERVAL_MS'],
    kind: { type: 'int', min: 1, max: 3_600_000 },
    default: 1000,
    doc: 'How often an idle worker looks for work created by other processes. On PostgreSQL, while its LISTEN connection is up, new work wakes it at once and it looks at the store only every 10 s (and when lease recovery is due), polling at this interval while the connection is down or while ready work it did not take is waiting (a handler it lacks, no free capacity).',
  },
  {
    key: 'sqliteSynchronous',
    file: 'sqlite_synchronous',
    env: ['TASKER_SQLITE_SYNCHRONOUS'],
    kind: { type: 'enum', values: ['normal', 'full'] },
    default: 'full',
    doc: 'SQLite durability: `full` survives power loss; `normal` survives process crashes, faster hand-offs.',
  },
  {
    key: 'sqliteBusyTimeoutMs',
    file: 'sqlite_busy_timeout_ms',
    env: ['TASKER_SQLITE_BUSY_TIMEOUT_MS'],
    kind: { type: 'int', min: 1, max: 600_000 },
    default: 5000,
    doc: "How long to wait for another process's SQLite write lock.",
  },
  {
    key: 'filterParameters',
    file: 'filter_parameters',
    kind: { type: 'list' },
    default: DEFAULT_FILTER_PARAMETERS,
    doc: 'Context keys whose values are masked wherever they leave the engine (matched case-insensitively as fragments).',
  },
  {
    key: 'filterMask',
    file: 'filter_mask',
    kind: { type: 'string' },
    default: DEFAULT_FILTER_MASK,
    doc: 'What a masked value becomes.',
  },
  {
    key: 'workerId',
    file: 'worker_id',
    only: 'library',
    kind: { type: 'string' },
    defaultDoc: '`<host>:<pid>:<random>`',
    doc: "Identifies this process's leases.",
  },
  {
    key: 'workerRegistry',
    file: 'worker_registry',
    only: 'library',
    kind: { type: 'bool' },
    default: true,
    doc: "Record this process's worker in the shared registry (the console's and `GET /tasker/workers`' list).",
  },
  {
    key: 'retention',
    file: 'retention',
    kind: { type: 'section' },
    defaultDoc: 'see below',
    doc: 'How long finished tasks and audit entries are kept before `tasker db prune` deletes them (the `retention` table).',
  },
  {
    key: 'telemetry',
    file: 'telemetry',
    kind: { type: 'section' },
    defaultDoc: 'see below',
    doc: 'Logs, traces, metrics, redaction, event sampling and thresholds (the `telemetry` table).',
  },
] as const satisfies readonly SettingSpec[];

/** Loaded by createTasker (the library also takes template objects and a handler record). */
export const LOADED_SETTINGS = [
  {
    key: 'templates',
    file: 'templates',
    env: ['TASKER_TEMPLATES'],
    kind: { type: 'paths' },
    defaultDoc: 'none',
    doc: 'Template YAML files or folders (comma-separated in the variable); the library also takes objects.',
  },
  {
    key: 'handlers',
    file: 'handlers',
    env: ['TASKER_HANDLERS'],
    kind: { type: 'path' },
    defaultDoc: 'none',
    doc: 'The module exporting the handler record; the library also takes the record.',
  },
] as const satisfies readonly SettingSpec[];

/** The CLI's alone (`tasker serve` and the logger it creates). */
export const CLI_SETTINGS = [
  {
    key: 'logLevel',
    file: 'log_level',
    env: ['TASKER_LOG_LEVEL'],
    only: 'cli',
    kind: { type: 'enum', values: LOG_LEVELS },
    defaultDoc: "telemetry.log_level, else 'info' ('warn' for commands that print results)",
    doc: "The CLI logger's level; the library's default logger reads TASKER_LOG_LEVEL too.",
  },
  {
    key: 'host',
    file: 'host',
    env: ['TASKER_HOST'],
    only: 'cli',
    kind: { type: 'string' },
    defaultDoc: '127.0.0.1',
    doc: 'Address `tasker serve` listens on (beyond loopback only with tokens or --allow-unauthenticated).',
  },
  {
    key: 'port',
    file: 'port',
    env: ['TASKER_PORT'],
    only: 'cli',
    kind: { type: 'int', min: 0, max: 65_535 },
    default: 3000,
    doc: 'Port `tasker serve` listens on (0: any free port).',
  },
  {
    key: 'bodyLimit',
    file: 'body_limit',
    only: 'cli',
    kind: { type: 'int', min: 1, max: 1_073_741_824 },
    default: 1_048_576,
    doc: 'Largest request body `tasker serve` accepts (bytes).',
  },
  {
    key: 'apiTokens',
    file: 'auth',
    env: ['TASKER_API_TOKENS'],
    only: 'cli',
    kind: { type: 'section' },
    defaultDoc: 'no tokens',
    doc: '`tokens` (name, token_sha256, scopes), `metrics_require_auth`, `allow_unauthenticated`; the variable holds the JSON token list (docs/api.md).',
  },
  {
    key: 'console',
    file: 'console',
    env: ['TASKER_CONSOLE_TRACE_URL'],
    only: 'cli',
    kind: { type: 'section' },
    defaultDoc: 'on',
    doc: '`true`, `false`, or `enabled`, `trace_url`, `max_streams`; the variable sets `trace_url` (docs/console.md).',
  },
] as const satisfies readonly SettingSpec[];

export const SETTINGS = [...ENGINE_SETTINGS, ...LOADED_SETTINGS, ...CLI_SETTINGS] as const;
