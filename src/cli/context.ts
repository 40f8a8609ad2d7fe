/** What every CLI command gets: output streams, environment, and a way to open the engine from settings. */
import pino from 'pino';
import { resolveSettings, settingsToOptions, type Settings } from '../config/settings.js';
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

export async function openTasker(
  io: CliIo,
  settings: Settings,
  need: { templates?: boolean; handlers?: boolean; defaultLogLevel?: string } = {},
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
  const logger = pino({ level: settings.logLevel ?? need.defaultLogLevel ?? 'warn' }, pino.destination(2));
  return createTasker({ ...options, logger });
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
