/**
 * The shape of a settings table, and the types and the compile step derived from one. A table is the
 * single statement of a setting's names, kind, default and doc; everything else reads it.
 */
import { checkValue, type CheckedOf, type InputOf, type Kind } from './kinds.js';

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
