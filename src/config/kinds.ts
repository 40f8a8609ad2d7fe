/**
 * What a setting can be, and the one validator every source goes through (library options, the config
 * file, TASKER_* variables, flags): a value means the same and is refused in the same words wherever it
 * was given; only the name in the error changes, so people find it where they wrote it.
 */
import { TaskerError } from '../errors.js';
import { parseDuration } from '../core/duration.js';
import { parseDatabase, type DatabaseTarget } from './database.js';

export type Kind =
  | { readonly type: 'int'; readonly min: number; readonly max: number }
  | { readonly type: 'number'; readonly min: number; readonly max: number }
  | { readonly type: 'bool' }
  | { readonly type: 'string'; readonly pattern?: RegExp; readonly expected?: string }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'list' }
  | { readonly type: 'url' }
  | { readonly type: 'database' }
  | { readonly type: 'path' }
  | { readonly type: 'paths' }
  | { readonly type: 'object'; readonly has: string; readonly expected: string }
  /** `7d`, `12h`, `30m` … (core/duration.ts), checked into milliseconds; `never` (null) when allowed. */
  | { readonly type: 'duration'; readonly never: boolean }
  | { readonly type: 'section' };

/** A setting as given (a section or a host object is checked by its own compiler, so never here). */
export type InputOf<K extends Kind> = K extends { type: 'int' | 'number' }
  ? number
  : K extends { type: 'bool' }
    ? boolean
    : K extends { type: 'enum'; values: ReadonlyArray<infer V> }
      ? V
      : K extends { type: 'list' | 'paths' }
        ? string[]
        : K extends { type: 'object' | 'section' }
          ? never
          : string;

/** A setting once checked. */
export type CheckedOf<K extends Kind> = K extends { type: 'database' }
  ? DatabaseTarget
  : K extends { type: 'duration'; never: true }
    ? number | null
    : K extends { type: 'duration' }
      ? number
      : K extends { type: 'list' | 'paths' }
        ? readonly string[]
        : K extends { type: 'object' | 'section' }
          ? unknown
          : InputOf<K>;

export function fail(field: string, expected: string, value: unknown): never {
  throw new TaskerError('CONFIG_INVALID', `${field}: expected ${expected}, got ${JSON.stringify(value)}`, {
    field,
    value,
  });
}

const hideCredentials = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');

export function checkValue<K extends Kind>(kind: K, v: unknown, field: string): CheckedOf<K> {
  return check(kind, v, field) as CheckedOf<K>;
}

function check(kind: Kind, v: unknown, field: string): unknown {
  switch (kind.type) {
    case 'int': {
      const ok = typeof v === 'number' && Number.isInteger(v) && v >= kind.min && v <= kind.max;
      if (!ok)
        fail(
          field,
          kind.min === 1
            ? `a positive integer up to ${kind.max}`
            : `an integer from ${kind.min} to ${kind.max}`,
          v,
        );
      return v;
    }
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v) || v < kind.min || v > kind.max)
        fail(field, `a number from ${kind.min} to ${kind.max}`, v);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') fail(field, 'true or false', v);
      return v;
    case 'enum':
      if (typeof v !== 'string' || !kind.values.includes(v))
        fail(field, `one of ${kind.values.join(', ')}`, v);
      return v;
    case 'list':
    case 'paths':
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.trim() === ''))
        fail(field, 'a list of non-empty strings', v);
      return v;
    case 'string':
    case 'path': {
      const expected = kind.type === 'string' ? kind.expected : undefined;
      if (typeof v !== 'string' || v.trim() === '') fail(field, expected ?? 'a non-empty string', v);
      if (kind.type === 'string' && kind.pattern && !kind.pattern.test(v))
        fail(field, kind.expected ?? `a string matching ${String(kind.pattern)}`, v);
      return v;
    }
    case 'url': {
      if (typeof v !== 'string' || v.trim() === '') fail(field, 'a non-empty string', v);
      if (!/^https?:\/\/[^/\s]+/.test(v) || !URL.canParse(v))
        fail(field, 'an http:// or https:// URL', hideCredentials(v));
      return v;
    }
    case 'database':
      if (typeof v !== 'string') fail(field, 'a non-empty string', v);
      return parseDatabase(v, field);
    case 'object':
      if (typeof v !== 'object' || v === null || !(kind.has in v)) fail(field, kind.expected, '[object]');
      return v;
    case 'duration':
      return parseDuration(v, field, kind.never);
    case 'section':
      return v;
  }
}

/**
 * A value written as text (a TASKER_* variable, or a quoted value in the file) in its kind's type; text
 * that does not convert is returned as is, so the validator names it as written.
 */
export function fromText(kind: Kind, text: string): unknown {
  switch (kind.type) {
    case 'int':
    case 'number':
      return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
    case 'bool':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'list':
    case 'paths':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return text;
  }
}

export { hideCredentials };
