/**
 * The web console's settings (`console:` in tasker.config.yaml, `console` in the API options), compiled
 * once: every field checked, named in its error, defaults filled.
 */
import { TaskerError } from '../errors.js';

export interface ConsoleOptions {
  /** Serve the console at `<prefix>/ui/`. @default true */
  enabled?: boolean | undefined;
  /**
   * Where a trace id links to, `{trace_id}` replaced: `http://localhost:16686/trace/{trace_id}` (Jaeger),
   * `https://grafana.example.com/explore?…{trace_id}…` (Tempo). @default none (the id is shown, unlinked)
   */
  traceUrl?: string | null | undefined;
  /** Live-update streams open at once (each is one HTTP connection). @default 100 */
  maxStreams?: number | undefined;
}

export interface ResolvedConsole {
  enabled: boolean;
  traceUrl: string | null;
  maxStreams: number;
}

const KEYS: Record<string, keyof ConsoleOptions> = {
  enabled: 'enabled',
  trace_url: 'traceUrl',
  traceUrl: 'traceUrl',
  max_streams: 'maxStreams',
  maxStreams: 'maxStreams',
};

/** `true`/`undefined`: defaults; `false`: off; an object: checked field by field. */
export function compileConsole(raw: unknown, source = 'console'): ResolvedConsole {
  const out: ResolvedConsole = { enabled: true, traceUrl: null, maxStreams: 100 };
  if (raw === undefined || raw === null || raw === true) return out;
  if (raw === false) return { ...out, enabled: false };
  const bad = (field: string, expected: string, got: unknown) =>
    new TaskerError(
      'CONFIG_INVALID',
      `${source}.${field}: expected ${expected}, got ${JSON.stringify(got)}`,
      { field: `${source}.${field}`, value: got },
    );
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new TaskerError(
      'CONFIG_INVALID',
      `${source}: expected true, false or a mapping (enabled, trace_url, max_streams), got ${JSON.stringify(raw)}`,
      { field: source },
    );
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const key = KEYS[k];
    if (!key)
      throw new TaskerError(
        'CONFIG_INVALID',
        `${source}: unknown setting "${k}"; known: enabled, trace_url, max_streams`,
        { field: `${source}.${k}` },
      );
    if (v === undefined) continue;
    if (key === 'enabled') {
      if (typeof v !== 'boolean') throw bad('enabled', 'true or false', v);
      out.enabled = v;
    } else if (key === 'traceUrl') {
      if (v === null) continue;
      if (typeof v !== 'string' || !/^https?:\/\/[^\s]+$/.test(v) || !v.includes('{trace_id}'))
        throw bad('trace_url', 'an http(s) URL containing {trace_id}', v);
      out.traceUrl = v;
    } else {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 10_000)
        throw bad('max_streams', 'an integer from 1 to 10000', v);
      out.maxStreams = v;
    }
  }
  return out;
}
