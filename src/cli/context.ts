/** What every CLI command gets: output streams, environment, and a way to open the engine from settings. */
import {
  resolveSettings,
  settingsToOptions,
  type ResolvedSettings,
  type Settings,
} from '../config/settings.js';
import { packageInfo } from '../package-root.js';
import { createLogger } from '../telemetry/logger.js';
import type { TracingSetup } from '../telemetry/sdk.js';
import { TaskerError } from '../errors.js';
import { createCompiledTasker } from '../engine/create-tasker.js';
import type { Tasker } from '../tasker.js';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Set by a command that failed without throwing (validation problems, task ended in error). */
  exitCode: number;
}

export interface CommonFlags {
  db?: string;
  templates?: string;
  handlers?: string;
  config?: string;
  logLevel?: string;
}

/** The flags' names, so an error names the flag a bad value came from. */
const FLAG_NAMES: Record<string, string> = {
  database: '--db',
  templates: '--templates',
  handlers: '--handlers',
  logLevel: '--log-level',
  concurrency: '--concurrency',
  host: '--host',
  port: '--port',
};

/** Settings from flags, TASKER_* and the config file, checked and compiled once for the whole command. */
export function settingsFrom(io: CliIo, flags: CommonFlags, extra: Partial<Settings> = {}): ResolvedSettings {
  return resolveSettings(
    {
      database: flags.db,
      templates: flags.templates?.split(',').map((s) => s.trim()),
      handlers: flags.handlers,
      config: flags.config,
      logLevel: flags.logLevel,
      ...extra,
      names: FLAG_NAMES,
    },
    io.env,
    io.cwd,
  );
}

const tracingOf = new WeakMap<Tasker, TracingSetup>();

/**
 * With telemetry.enabled, every command that can run steps or end a task sets up the OpenTelemetry SDK
 * (a task's span goes out from the process that ends it, `tasker cancel` included); close with
 * closeTasker() so the last spans are exported. Only long-running processes (`push`: serve, worker) push
 * metrics to a Pushgateway: a short command would leave a group of its own there for ever.
 */
export async function openTasker(
  io: CliIo,
  settings: ResolvedSettings,
  need: { templates?: boolean; handlers?: boolean; defaultLogLevel?: string; push?: boolean } = {},
): Promise<Tasker> {
  const options = settingsToOptions(settings);
  if (!need.templates) delete options.templates;
  if (!need.handlers) delete options.handlers;
  if (need.handlers && options.handlers === undefined) {
    throw new TaskerError(
      'HANDLERS_MODULE_INVALID',
      'no handlers module given: pass --handlers <module>, TASKER_HANDLERS, or handlers: in tasker.config.yaml',
    );
  }
  const { compiled } = settings;
  // Only long-running processes push; the compiled settings are handed on, not compiled again.
  const telemetry = need.push ? compiled.telemetry : { ...compiled.telemetry, push: undefined };
  const logger = createLogger({
    level: settings.logLevel ?? telemetry.logLevel ?? need.defaultLogLevel ?? 'warn',
    format: telemetry.logFormat,
  });
  // Loaded only when used: the SDK and exporter are a sizeable share of a short command's start-up.
  const tracing = telemetry.tracing
    ? (await import('../telemetry/sdk.js')).setupTracing({
        serviceName: telemetry.serviceName,
        serviceVersion: telemetry.serviceVersion ?? packageInfo().version,
      })
    : null;
  try {
    const tasker = await createCompiledTasker({ ...compiled, telemetry }, { ...options, logger });
    if (tracing) tracingOf.set(tasker, tracing);
    return tasker;
  } catch (err) {
    await tracing?.shutdown();
    throw err;
  }
}

/** Close the engine, then flush and stop the tracer openTasker set up. */
export async function closeTasker(tasker: Tasker): Promise<void> {
  await tasker.close();
  await tracingOf.get(tasker)?.shutdown();
}

export function parseJsonFlag(flag: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // Where, but not what: V8's message quotes the text, and a context may hold secrets.
    const message = err instanceof Error ? err.message : '';
    const at = /position (\d+)/.exec(message)?.[1];
    const where = at !== undefined ? `error at position ${at}` : 'unexpected end or token';
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `${flag} is not valid JSON (${where}; ${text.length} characters)`,
      { flag },
    );
  }
}

/** A numeric flag: a clear error instead of NaN loops when the value is not a number in range. */
export function numberFlag(flag: string, value: unknown, min: number, max: number, integer = false): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `${flag}: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(value)}`,
      { flag },
    );
  }
  return n;
}
