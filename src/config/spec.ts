/**
 * The shape of a settings table, and the types and the compile step derived from one. A table is the
 * single statement of a setting's names, kind, default and doc; everything else reads it.
 */
import { suggest } from '../core/suggest.js';
import { TaskerError } from '../errors.js';
import { checkValue, fail, type CheckedOf, type InputOf, type Kind } from './kinds.js';

export interface SettingSpec {
  /** The library's option name (camelCase). */
  readonly key: string;
  /** The name in tasker.config.yaml (snake_case). */
  readonly file: string;
  /** TASKER_* variables that set it, first found wins. */
  readonly env?: readonly string[];
  readonly kind: Kind;
  /** A value, or a function for a default read from elsewhere (the environment) when compiled. */
  readonly default?: unknown;
  /** The default as people read it, when `default` alone would not say it (derived, or none). */
  readonly defaultDoc?: string;
  readonly doc: string;
  /** `library`: an option only (no file key); `cli`: the CLI's alone (not a TaskerOptions key). */
  readonly only?: 'library' | 'cli';
}

type Entry<T extends readonly SettingSpec[]> = T[number];

/** The options a table accepts from the library (what TaskerOptions must offer). */
export type OptionsOf<T extends readonly SettingSpec[]> = {
  [E in Entry<T> as E extends { only: 'cli' } ? never : E['key']]?: InputOf<E['kind']>;
};

/** A table's settings once checked: a value for each, or undefined where there is no default. */
export type CheckedValues<T extends readonly SettingSpec[]> = {
  [E in Entry<T> as E['key']]: E extends { default: unknown }
    ? CheckedOf<E['kind']>
    : CheckedOf<E['kind']> | undefined;
};

/** A compile-time check: a type that is not `never` here is a setting missing on one side. */
export type AssertNever<T extends never> = T;

/** The keys both have whose table type the interface does not accept. */
export type Mismatched<Table, Api> = {
  [K in keyof Table & keyof Api]-?: Table[K] extends Api[K] ? never : K;
}[keyof Table & keyof Api];

/** Every setting of `table` checked, named in errors by `name`, defaults filled. */
export function checkTable<T extends readonly SettingSpec[]>(
  table: T,
  get: (e: SettingSpec) => unknown,
  name: (e: SettingSpec) => string,
): CheckedValues<T> {
  const out: Record<string, unknown> = {};
  for (const e of table) {
    const given = get(e);
    const v =
      given !== undefined
        ? given
        : typeof e.default === 'function'
          ? (e.default as () => unknown)()
          : e.default;
    // Defaults go through the validator too: it is what turns `database` into a target.
    out[e.key] = v === undefined ? undefined : checkValue(e.kind, v, name(e));
  }
  return out as CheckedValues<T>;
}

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * snake_case view of a section given in either spelling; unknown keys are refused with a suggestion.
 * Also used by the config file reader, so a typo is reported as the file is read.
 */
export function normaliseSection(
  raw: unknown,
  where: string,
  table: readonly SettingSpec[],
): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) fail(where, 'a mapping of settings', raw);
  const known = table.map((e) => e.file);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const key = snake(k);
    if (!known.includes(key)) {
      // A typo, or a part of longer names (sampling_rate: event_sampling_rate or trace_sampling_rate).
      const typo = suggest(key, known);
      const partOf = known.filter((x) => x.endsWith(key) || x.startsWith(key));
      const hints = typo ? [typo] : partOf;
      const hint = hints.length ? ` (did you mean ${hints.map((h) => `"${h}"`).join(' or ')}?)` : '';
      throw new TaskerError(
        'CONFIG_INVALID',
        `${where}.${k}: unknown setting${hint}; known: ${known.join(', ')}`,
        { field: `${where}.${k}` },
      );
    }
    if (v !== undefined) out[key] = v;
  }
  return out;
}
