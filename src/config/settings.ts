/**
 * CLI settings from four sources, highest first: command-line flags > TASKER_* environment variables >
 * the config file (`--config`, TASKER_CONFIG, or ./tasker.config.yaml) > defaults. Relative paths in the
 * config file are relative to the file's folder. Keys, variables and kinds come from the settings tables;
 * the merged settings are checked once, by compileOptions' validator, each value named where it was given.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { TaskerError } from '../errors.js';
import { suggest } from '../core/suggest.js';
import type { ApiToken } from './tokens.js';
import { authFlags, tokensFrom } from './auth-section.js';
import { compileOptions, type ResolvedOptions, type SettingNamer, type TaskerOptions } from './options.js';
import { normaliseSection } from './spec.js';
import { PROMETHEUS_SETTINGS, TELEMETRY_SETTINGS } from './telemetry-table.js';
import { compileConsole } from './console.js';
import { RETENTION_SETTINGS } from './retention.js';
import { checkValue, fromText } from './kinds.js';
import { CLI_SETTINGS, ENGINE_SETTINGS, LOADED_SETTINGS, SETTINGS } from './settings-table.js';
import type { AssertNever, SettingSpec } from './spec.js';

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
  /** The `telemetry:` section, snake_case as in the seed's config.telemetry; compiled once with the rest. */
  telemetry?: Record<string, unknown> | undefined;
  /** The `retention:` section (durations as text); compiled once with the rest. */
  retention?: Record<string, unknown> | undefined;
  /** The config file that was read, if any. */
  configFile?: string | undefined;
  /**
   * What each value is called in errors, by option key or telemetry path (`telemetry.log_format`):
   * `<file>: lease_seconds`, `environment variable TASKER_PORT`, `--db`. Unnamed values go by option key.
   */
  names?: Record<string, string> | undefined;
}

/** Settings once checked, with what the engine runs with compiled from them. */
export type ResolvedSettings = Settings & { compiled: ResolvedOptions };

type TableKeys = (typeof SETTINGS)[number]['key'];
type NotFromTables = 'metricsRequireAuth' | 'allowUnauthenticated' | 'configFile' | 'names';
type LibraryOnly = Extract<(typeof SETTINGS)[number], { only: 'library' }>['key'];
// Settings keeps its shape for the commands; a key in it or in the tables alone is a compile error.
export type _SettingsTableMatches = [
  AssertNever<Exclude<keyof Settings, TableKeys | NotFromTables>>,
  AssertNever<Exclude<TableKeys, keyof Settings | LibraryOnly>>,
];

const FILE_KEYS: ReadonlyMap<string, SettingSpec> = new Map(
  (SETTINGS as readonly SettingSpec[]).filter((e) => e.only !== 'library').map((e) => [e.file, e]),
);

/** A value as read from the file or a variable: text in its kind's type, sections read by their own code. */
function readValue(e: SettingSpec, value: unknown, source: string): unknown {
  if (e.key === 'apiTokens') return tokensFrom(value, source);
  if (e.key === 'console') {
    // TASKER_CONSOLE_TRACE_URL sets trace_url alone; the file gives the whole section (or true/false).
    const section = typeof value === 'string' ? { trace_url: value } : value;
    compileConsole(section, source);
    return section;
  }
  if (e.key === 'telemetry') {
    // Unknown keys are refused as the file is read; the values are checked once, when compiled.
    const section = normaliseSection(value, source, TELEMETRY_SETTINGS);
    if (section.prometheus !== undefined)
      section.prometheus = normaliseSection(section.prometheus, `${source}.prometheus`, PROMETHEUS_SETTINGS);
    return section;
  }
  if (e.key === 'retention') return normaliseSection(value, source, RETENTION_SETTINGS);
  return typeof value === 'string' ? fromText(e.kind, value) : value;
}

/** Relative paths in the file are relative to the file's folder. */
function relativeTo(base: string, e: SettingSpec, value: unknown): unknown {
  if (e.kind.type === 'paths' && Array.isArray(value))
    return (value as unknown[]).map((p) => (typeof p === 'string' ? resolve(base, p) : p));
  if (e.kind.type === 'path' && typeof value === 'string') return resolve(base, value);
  if (
    e.kind.type === 'database' &&
    typeof value === 'string' &&
    value.startsWith('sqlite:') &&
    !value.startsWith('sqlite::memory:')
  )
    return `sqlite:${resolve(base, value.slice('sqlite:'.length))}`;
  return value;
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
  const out: Record<string, unknown> = {};
  const names: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const e = FILE_KEYS.get(k);
    if (!e) {
      const known = [...FILE_KEYS.keys()];
      const hint = suggest(k, known);
      throw new TaskerError(
        'CONFIG_INVALID',
        `config file ${path}: unknown setting "${k}"${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${known.join(', ')}`,
        { file: path, field: k },
      );
    }
    if (k === 'auth') Object.assign(out, authFlags(v, `${path}: auth`));
    out[e.key] = relativeTo(base, e, readValue(e, v, `${path}: ${k}`));
    // The one path inside a section: relative to the file too.
    const section = out[e.key] as Record<string, unknown> | undefined;
    if (e.key === 'retention' && typeof section?.archive_dir === 'string')
      section.archive_dir = resolve(base, section.archive_dir);
    names[e.key] = `${path}: ${k}`;
  }
  return { ...(out as Settings), configFile: path, names };
}

export function readEnv(env: NodeJS.ProcessEnv): Settings {
  const out: Record<string, unknown> = {};
  const names: Record<string, string> = {};
  for (const e of SETTINGS as readonly SettingSpec[]) {
    const name = (e.env ?? []).find((n) => env[n] !== undefined && env[n] !== '');
    if (name === undefined) continue;
    out[e.key] = readValue(e, env[name], `environment variable ${name}`);
    names[e.key] = `environment variable ${name}`;
  }
  // Variables that set one key of a section (TASKER_LOG_FORMAT: telemetry.log_format).
  for (const [section, table] of [
    ['telemetry', TELEMETRY_SETTINGS],
    ['retention', RETENTION_SETTINGS],
  ] as const) {
    for (const e of table as readonly SettingSpec[]) {
      const name = (e.env ?? []).find((n) => env[n] !== undefined && env[n] !== '');
      const text = name === undefined ? undefined : env[name];
      if (name === undefined || text === undefined) continue;
      out[section] = {
        ...(out[section] as Record<string, unknown> | undefined),
        [e.file]: fromText(e.kind, text),
      };
      names[`${section}.${e.file}`] = `environment variable ${name}`;
    }
  }
  return { ...(out as Settings), names };
}

export function resolveSettings(
  flags: Settings & { config?: string | undefined },
  env: NodeJS.ProcessEnv,
  cwd: string,
): ResolvedSettings {
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
  const names: Record<string, string> = { ...file.names };
  for (const layer of [readEnv(env), flags]) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined || k === 'config' || k === 'names') continue;
      // Sections merge (TASKER_LOG_FORMAT changes one key of the file's telemetry section).
      const prev = (merged as Record<string, unknown>)[k];
      const section = k === 'telemetry' || k === 'retention' || k === 'console';
      (merged as Record<string, unknown>)[k] =
        section && isSection(prev) && isSection(v)
          ? { ...prev, ...v }
          : // `console: false` in the file stays off when the environment only sets its trace URL.
            k === 'console' && prev === false && isSection(v)
            ? { enabled: false, ...v }
            : v;
      if (!section) delete names[k];
    }
    for (const [k, n] of Object.entries(layer.names ?? {}))
      if (k.includes('.') || (layer as Record<string, unknown>)[k] !== undefined) names[k] = n;
  }
  merged.names = names;
  return { ...merged, compiled: compileSettings(merged) };
}

const isSection = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** An error names a value where it was given: the file's key, the variable, the flag. */
function namerOf(names: Record<string, string>): SettingNamer {
  return (path, fallback) => {
    const exact = names[path];
    if (exact !== undefined) return exact;
    const dot = path.indexOf('.');
    const base = dot > 0 ? names[path.slice(0, dot)] : undefined;
    return base !== undefined ? `${base}${path.slice(dot)}` : fallback;
  };
}

/** Check every setting once and compile what the engine runs with (telemetry included). */
export function compileSettings(s: Settings): ResolvedOptions {
  const name = namerOf(s.names ?? {});
  // The CLI's own settings and the paths to load are not compileOptions' to check.
  for (const e of [...LOADED_SETTINGS, ...CLI_SETTINGS] as readonly SettingSpec[]) {
    const v = (s as Record<string, unknown>)[e.key];
    if (v !== undefined) checkValue(e.kind, v, name(e.key, e.key));
  }
  return compileOptions(settingsToOptions(s), name);
}

export function settingsToOptions(s: Settings): TaskerOptions {
  const o: Record<string, unknown> = {};
  for (const e of [...ENGINE_SETTINGS, ...LOADED_SETTINGS]) {
    const v = (s as Record<string, unknown>)[e.key];
    if (v !== undefined) o[e.key] = v;
  }
  return o;
}
