/**
 * The web console's settings (`console:` in tasker.config.yaml, `console` in the API options): one table,
 * like every other section, compiled once: every field checked, named in its error, defaults filled.
 */
import { fail } from './kinds.js';
import {
  checkTable,
  normaliseSection,
  type AssertNever,
  type Mismatched,
  type OptionsOf,
  type SettingSpec,
} from './spec.js';

export const CONSOLE_SETTINGS = [
  {
    key: 'enabled',
    file: 'enabled',
    kind: { type: 'bool' },
    default: true,
    doc: 'Serve the console at `<prefix>/ui/` (`console: false` is the same as `enabled: false`).',
  },
  {
    key: 'traceUrl',
    file: 'trace_url',
    env: ['TASKER_CONSOLE_TRACE_URL'],
    // An http(s) URL with no blank, holding the placeholder: never a javascript: or data: link.
    kind: {
      type: 'string',
      pattern: /^https?:\/\/(?=\S*\{trace_id\})\S+$/,
      expected: 'an http(s) URL containing {trace_id}',
    },
    defaultDoc: 'none (the trace id is shown, unlinked)',
    doc: 'Where a trace id links to, `{trace_id}` replaced: `http://localhost:16686/trace/{trace_id}` (Jaeger), a Grafana Tempo explore URL.',
  },
  {
    key: 'maxStreams',
    file: 'max_streams',
    kind: { type: 'int', min: 1, max: 10_000 },
    default: 100,
    doc: 'Live-update streams open at once (each is one HTTP connection).',
  },
] as const satisfies readonly SettingSpec[];

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

// The interface keeps its docs for editors; the table and it must name the same settings.
export type _ConsoleTableMatches = [
  AssertNever<Exclude<keyof ConsoleOptions, keyof OptionsOf<typeof CONSOLE_SETTINGS>>>,
  AssertNever<Exclude<keyof OptionsOf<typeof CONSOLE_SETTINGS>, keyof ConsoleOptions>>,
  AssertNever<Mismatched<OptionsOf<typeof CONSOLE_SETTINGS>, ConsoleOptions>>,
];

export interface ResolvedConsole {
  enabled: boolean;
  traceUrl: string | null;
  maxStreams: number;
}

/** `true`/`undefined`: defaults; `false`: off; a mapping (either spelling): checked field by field. */
export function compileConsole(raw: unknown, source = 'console'): ResolvedConsole {
  if (raw === false) raw = { enabled: false };
  if (raw === true || raw === null) raw = undefined;
  if (raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw)))
    fail(source, 'true, false or a mapping (enabled, trace_url, max_streams)', raw);
  const o = normaliseSection(raw, source, CONSOLE_SETTINGS);
  const c = checkTable(
    CONSOLE_SETTINGS,
    (e) => (o[e.file] === null ? undefined : o[e.file]),
    (e) => `${source}.${e.file}`,
  );
  return { enabled: c.enabled, traceUrl: c.traceUrl ?? null, maxStreams: c.maxStreams };
}
