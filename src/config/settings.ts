/**
 * CLI settings from four sources, highest first: command-line flags > TASKER_* environment variables >
 * the config file (`--config`, TASKER_CONFIG, or ./tasker.config.yaml) > defaults. Relative paths in the
 * config file are relative to the file's folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { TaskerError } from '../errors.js';
import { suggest } from '../core/suggest.js';
import { parseTokens, type ApiToken } from './tokens.js';
import type { TaskerOptions } from './options.js';
import { compileTelemetry } from './telemetry.js';
import { compileConsole } from './console.js';

export interface Settings {
  database?: string | undefined;
  templates?: string[] | undefined;
  handlers?: string | undefined;
  concurrency?: number | undefined;
  perTaskConcurrency?: number | undefined;
  leaseSeconds?: number | undefined;
  pollIntervalMs?: number | undefined;
  logLevel?: string | undefined;
  sqliteSynchronous?: 'normal' | 'full' | undefined;
  sqliteBusyTimeoutMs?: number | undefined;
  filterParameters?: string[] | undefined;
  filterMask?: string | undefined;
  /** HTTP API (`tasker serve`). */
  host?: string | undefined;
  port?: number | undefined;
  bodyLimit?: number | undefined;
  apiTokens?: ApiToken[] | undefined;
  metricsRequireAuth?: boolean | undefined;
  allowUnauthenticated?: boolean | undefined;
  /** The `console:` section (web console at /tasker/ui), checked when read. */
  console?: Record<string, unknown> | boolean | undefined;
  /** The `telemetry:` section, checked when read (snake_case, as in the seed's config.telemetry). */
  telemetry?: Record<string, unknown> | undefined;
  /** The config file that was read, if any. */
  configFile?: string | undefined;
}

const FILE_KEYS: Record<string, keyof Settings> = {
  database: 'database',
  templates: 'templates',
  handlers: 'handlers',
  concurrency: 'concurrency',
  per_task_concurrency: 'perTaskConcurrency',
  lease_seconds: 'leaseSeconds',
  poll_interval_ms: 'pollIntervalMs',
  log_level: 'logLevel',
  sqlite_synchronous: 'sqliteSynchronous',
  sqlite_busy_timeout_ms: 'sqliteBusyTimeoutMs',
  filter_parameters: 'filterParameters',
  filter_mask: 'filterMask',
  host: 'host',
  port: 'port',
  body_limit: 'bodyLimit',
  auth: 'apiTokens',
  telemetry: 'telemetry',
  console: 'console',
};

const ENV_KEYS: Array<[string, keyof Settings]> = [
  ['TASKER_DATABASE_URL', 'database'],
  ['TASKER_DB', 'database'],
  ['TASKER_TEMPLATES', 'templates'],
  ['TASKER_HANDLERS', 'handlers'],
  ['TASKER_CONCURRENCY', 'concurrency'],
  ['TASKER_PER_TASK_CONCURRENCY', 'perTaskConcurrency'],
  ['TASKER_LEASE_SECONDS', 'leaseSeconds'],
  ['TASKER_POLL_INTERVAL_MS', 'pollIntervalMs'],
  ['TASKER_LOG_LEVEL', 'logLevel'],
  ['TASKER_SQLITE_SYNCHRONOUS', 'sqliteSynchronous'],
  ['TASKER_SQLITE_BUSY_TIMEOUT_MS', 'sqliteBusyTimeoutMs'],
  ['TASKER_HOST', 'host'],
  ['TASKER_PORT', 'port'],
  ['TASKER_API_TOKENS', 'apiTokens'],
  ['TASKER_LOG_FORMAT', 'telemetry'],
  ['TASKER_CONSOLE_TRACE_URL', 'console'],
];

const NUMERIC: ReadonlySet<keyof Settings> = new Set([
  'concurrency',
  'perTaskConcurrency',
  'leaseSeconds',
  'pollIntervalMs',
  'sqliteBusyTimeoutMs',
  'port',
  'bodyLimit',
]);
const PATHS: ReadonlySet<keyof Settings> = new Set(['handlers']);

function coerce(key: keyof Settings, value: unknown, source: string): unknown {
  if (key === 'apiTokens') return tokensFrom(value, source);
  if (key === 'console') {
    // TASKER_CONSOLE_TRACE_URL sets trace_url alone; the file gives the whole section (or true/false).
    const section = typeof value === 'string' ? { trace_url: value } : value;
    compileConsole(section, source);
    return section;
  }
  if (key === 'telemetry') {
    // TASKER_LOG_FORMAT sets log_format alone; the file gives the whole section.
    const section = typeof value === 'string' ? { log_format: value } : value;
    compileTelemetry(section, source); // errors name the file (or variable) and the field
    return section;
  }
  if (key === 'filterParameters') {
    const list = typeof value === 'string' ? value.split(',').map((x) => x.trim()) : value;
    if (!Array.isArray(list) || list.some((x) => typeof x !== 'string' || x === ''))
      throw new TaskerError(
        'CONFIG_INVALID',
        `${source}: expected a list of key names, got ${JSON.stringify(value)}`,
        {
          field: key,
          source,
        },
      );
    return list;
  }
  if (NUMERIC.has(key)) {
    const n =
      typeof value === 'number'
        ? value
        : typeof value === 'string' && value.trim() !== ''
          ? Number(value)
          : NaN;
    if (!Number.isFinite(n) || n <= 0) {
      throw new TaskerError(
        'CONFIG_INVALID',
        `${source}: expected a positive number, got ${JSON.stringify(value)}`,
        {
          field: key,
          source,
        },
      );
    }
    return n;
  }
  if (key === 'templates') {
    if (typeof value === 'string')
      return value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
    throw new TaskerError(
      'CONFIG_INVALID',
      `${source}: expected a path or a list of paths, got ${JSON.stringify(value)}`,
      {
        field: key,
        source,
      },
    );
  }
  if (typeof value !== 'string') {
    throw new TaskerError('CONFIG_INVALID', `${source}: expected a string, got ${JSON.stringify(value)}`, {
      field: key,
      source,
    });
  }
  if (key === 'sqliteSynchronous' && value !== 'normal' && value !== 'full') {
    throw new TaskerError(
      'CONFIG_INVALID',
      `${source}: expected "normal" or "full", got ${JSON.stringify(value)}`,
      {
        field: key,
        source,
      },
    );
  }
  return value;
}

/**
 * `auth: {tokens: [...], metrics_require_auth, allow_unauthenticated}` in the file; TASKER_API_TOKENS holds
 * the JSON of the token list alone.
 */
function tokensFrom(value: unknown, source: string): ApiToken[] {
  if (typeof value === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (err) {
      throw new TaskerError(
        'CONFIG_INVALID',
        `${source}: expected the JSON of a token list ([{"name", "token_sha256", "scopes"}]): ${err instanceof Error ? err.message : String(err)}`,
        { source },
      );
    }
    return parseTokens(parsed, source);
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const unknownKey = Object.keys(o).find(
      (k) => !['tokens', 'metrics_require_auth', 'allow_unauthenticated'].includes(k),
    );
    if (unknownKey)
      throw new TaskerError(
        'CONFIG_INVALID',
        `${source}: unknown setting "${unknownKey}"; known: tokens, metrics_require_auth, allow_unauthenticated`,
        {
          source,
        },
      );
    return parseTokens(o.tokens ?? [], `${source}.tokens`);
  }
  return parseTokens(value, source);
}

function authFlags(
  raw: unknown,
  source: string,
): Pick<Settings, 'metricsRequireAuth' | 'allowUnauthenticated'> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return {};
  const o = raw as Record<string, unknown>;
  const flag = (k: string): boolean | undefined => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean')
      throw new TaskerError(
        'CONFIG_INVALID',
        `${source}.${k}: expected true or false, got ${JSON.stringify(v)}`,
        { source },
      );
    return v;
  };
  return {
    metricsRequireAuth: flag('metrics_require_auth'),
    allowUnauthenticated: flag('allow_unauthenticated'),
  };
}

export function readConfigFile(path: string): Settings {
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new TaskerError(
      'CONFIG_INVALID',
      `cannot read config file ${path}: ${err instanceof Error ? err.message : String(err)}`,
      {
        file: path,
      },
    );
  }
  if (raw === null || raw === undefined) return { configFile: path };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TaskerError('CONFIG_INVALID', `config file ${path}: expected a mapping of settings`, {
      file: path,
    });
  }
  const base = dirname(resolve(path));
  const out: Settings = { configFile: path };
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const key = FILE_KEYS[k];
    if (!key) {
      const hint = suggest(k, Object.keys(FILE_KEYS));
      throw new TaskerError(
        'CONFIG_INVALID',
        `config file ${path}: unknown setting "${k}"${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${Object.keys(FILE_KEYS).join(', ')}`,
        { file: path, field: k },
      );
    }
    if (k === 'auth') Object.assign(out, authFlags(v, `${path}: auth`));
    let value = coerce(key, v, `${path}: ${k}`);
    if (key === 'templates') value = (value as string[]).map((p) => resolve(base, p));
    else if (PATHS.has(key)) value = resolve(base, value as string);
    else if (
      key === 'database' &&
      typeof value === 'string' &&
      value.startsWith('sqlite:') &&
      !value.startsWith('sqlite::memory:')
    ) {
      value = `sqlite:${resolve(base, value.slice('sqlite:'.length))}`;
    }
    (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

export function readEnv(env: NodeJS.ProcessEnv): Settings {
  const out: Settings = {};
  for (const [name, key] of ENV_KEYS) {
    const v = env[name];
    if (v === undefined || v === '' || (out as Record<string, unknown>)[key] !== undefined) continue;
    (out as Record<string, unknown>)[key] = coerce(key, v, `environment variable ${name}`);
  }
  return out;
}

export function resolveSettings(
  flags: Settings & { config?: string | undefined },
  env: NodeJS.ProcessEnv,
  cwd: string,
): Settings {
  const explicit = flags.config ?? env.TASKER_CONFIG;
  let file: Settings = {};
  if (explicit !== undefined) {
    const path = resolve(cwd, explicit);
    if (!existsSync(path))
      throw new TaskerError('CONFIG_INVALID', `config file ${path} does not exist`, { file: path });
    file = readConfigFile(path);
  } else if (existsSync(resolve(cwd, 'tasker.config.yaml'))) {
    file = readConfigFile(resolve(cwd, 'tasker.config.yaml'));
  }
  const merged: Settings = { ...file };
  for (const layer of [readEnv(env), flags]) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined || k === 'config') continue;
      // Sections merge (TASKER_LOG_FORMAT changes one key of the file's telemetry section).
      const prev = (merged as Record<string, unknown>)[k];
      const section = k === 'telemetry' || k === 'console';
      (merged as Record<string, unknown>)[k] =
        section && isSection(prev) && isSection(v)
          ? { ...prev, ...v }
          : // `console: false` in the file stays off when the environment only sets its trace URL.
            k === 'console' && prev === false && isSection(v)
            ? { enabled: false, ...v }
            : v;
    }
  }
  return merged;
}

const isSection = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

export function settingsToOptions(s: Settings): TaskerOptions {
  const o: TaskerOptions = {};
  if (s.database !== undefined) o.database = s.database;
  if (s.templates !== undefined) o.templates = s.templates;
  if (s.handlers !== undefined) o.handlers = s.handlers;
  if (s.concurrency !== undefined) o.concurrency = s.concurrency;
  if (s.perTaskConcurrency !== undefined) o.perTaskConcurrency = s.perTaskConcurrency;
  if (s.leaseSeconds !== undefined) o.leaseSeconds = s.leaseSeconds;
  if (s.pollIntervalMs !== undefined) o.pollIntervalMs = s.pollIntervalMs;
  if (s.sqliteSynchronous !== undefined) o.sqliteSynchronous = s.sqliteSynchronous;
  if (s.sqliteBusyTimeoutMs !== undefined) o.sqliteBusyTimeoutMs = s.sqliteBusyTimeoutMs;
  if (s.filterParameters !== undefined) o.filterParameters = s.filterParameters;
  if (s.filterMask !== undefined) o.filterMask = s.filterMask;
  // Both spellings are accepted by compileTelemetry; the file's is snake_case.
  if (s.telemetry !== undefined) o.telemetry = s.telemetry;
  return o;
}
