/** What every CLI command gets: output streams, environment, and a way to open the engine from settings. */
import { resolveSettings, settingsToOptions, type Settings } from '../config/settings.js';
import { compileTelemetry } from '../config/telemetry.js';
import { packageInfo } from '../package-root.js';
import { createLogger } from '../telemetry/logger.js';
import { setupTracing, type TracingSetup } from '../telemetry/sdk.js';
import { TaskerError } from '../errors.js';
import { createTasker, type Tasker } from '../tasker.js';

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

export function settingsFrom(io: CliIo, flags: CommonFlags, extra: Partial<Settings> = {}): Settings {
  return resolveSettings(
    {
      database: flags.db,
      templates: flags.templates?.split(',').map((s) => s.trim()),
      handlers: flags.handlers,
      config: flags.config,
      logLevel: flags.logLevel,
      ...extra,
    },
    io.env,
    io.cwd,
  );
}

const tracingOf = new WeakMap<Tasker, TracingSetup>();

/**
 * `tracing`: a long-running command (serve, worker) sets up the OpenTelemetry SDK when
 * telemetry.enabled is true; close with closeTasker() so the last spans are exported.
 */
export async function openTasker(
  io: CliIo,
  settings: Settings,
  need: { templates?: boolean; handlers?: boolean; defaultLogLevel?: string; tracing?: boolean } = {},
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
  const telemetry = compileTelemetry(settings.telemetry);
  const logger = createLogger({
    level: settings.logLevel ?? telemetry.logLevel ?? need.defaultLogLevel ?? 'warn',
    format: telemetry.logFormat,
  });
  const tracing =
    need.tracing && telemetry.tracing
      ? setupTracing({
          serviceName: telemetry.serviceName,
          serviceVersion: telemetry.serviceVersion ?? packageInfo().version,
        })
      : null;
  try {
    const tasker = await createTasker({ ...options, logger });
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
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `${flag} is not valid JSON (${err instanceof Error ? err.message : String(err)}): ${text.length > 80 ? `${text.slice(0, 80)}…` : text}`,
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
