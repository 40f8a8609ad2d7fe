/**
 * Reading one field of a raw template: the checks a value must pass, the issues collected when it does not
 * (with raw path segments the YAML loader maps back to line:column), and alias resolution. Pure.
 */
import type { ValidationIssue } from '../errors.js';
import { parseSemver } from './semver.js';

export type PathSegment = string | number;

export interface TemplateIssue extends ValidationIssue {
  segments: PathSegment[];
  /** 'key' when the key itself is the problem (unknown key), so locators point at the key, not its value. */
  at: 'key' | 'value';
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export type Rec = Record<string, unknown>;
export type Segs = readonly PathSegment[];
export interface Found<T> {
  segs: PathSegment[];
  value: T;
  /** How to show the value in a conflict message when it was converted (ms -> s). */
  shown?: string;
}
export interface Check<T> {
  expected: string;
  accept(v: unknown): T | undefined;
}

export function formatPath(segs: Segs): string {
  return segs.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

export function isRec(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (isRec(v)) return 'a map';
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

export function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export const bt = (s: string): string => `\`${s}\``;

export class Issues {
  readonly list: TemplateIssue[] = [];
  /** Accepted, but worth telling: a Tasker key this engine ignores. Never stops a template from loading. */
  readonly warnings: TemplateIssue[] = [];
  add(segments: Segs, message: string, at: 'key' | 'value' = 'value', path = formatPath(segments)): void {
    this.list.push({ path, message, segments: [...segments], at });
  }
  warn(segments: Segs, message: string): void {
    this.warnings.push({ path: formatPath(segments), message, segments: [...segments], at: 'key' });
  }
}

export const str: Check<string> = {
  expected: 'a non-empty string',
  accept: (v) => (typeof v === 'string' && v.trim() !== '' ? v : undefined),
};
export const text: Check<string> = {
  expected: 'a string',
  accept: (v) => (typeof v === 'string' ? v : undefined),
};
export const ident: Check<string> = {
  expected: 'a name of letters, digits, `_`, `.`, `-` starting with a letter or `_`',
  accept: (v) => (typeof v === 'string' && NAME_RE.test(v) ? v : undefined),
};
export const bool: Check<boolean> = {
  expected: 'true or false',
  accept: (v) => (typeof v === 'boolean' ? v : undefined),
};
export const map: Check<Rec> = { expected: 'a map', accept: (v) => (isRec(v) ? v : undefined) };
export const list: Check<unknown[]> = {
  expected: 'a list',
  accept: (v) => (Array.isArray(v) ? v : undefined),
};
export const semver: Check<string> = {
  expected: 'a semantic version string like "1.0.0"',
  accept: (v) => (typeof v === 'string' && parseSemver(v) ? v : undefined),
};
export function num(expected: string, ok: (n: number) => boolean): Check<number> {
  return {
    expected,
    accept: (v) => (typeof v === 'number' && Number.isFinite(v) && ok(v) ? v : undefined),
  };
}
export const positive = num('a number > 0', (n) => n > 0);
/** Node timers overflow past 2^31-1 ms (~24.8 days) and would fire at once. */
const MAX_TIMEOUT_SECONDS = 86_400 * 24;
export const timeoutSeconds = num(
  `a number > 0 and at most ${MAX_TIMEOUT_SECONDS} (24 days)`,
  (n) => n > 0 && n <= MAX_TIMEOUT_SECONDS,
);

/** Reads one key; null counts as absent for optional keys (Tasker files often leave keys blank). */
export function read<T>(c: Issues, obj: Rec, segs: Segs, key: string, check: Check<T>, required = false) {
  const v = obj[key];
  if (v === undefined || (v === null && !required)) return undefined;
  const here = [...segs, key];
  const ok = check.accept(v);
  if (ok !== undefined) return { segs: here, value: ok };
  // YAML turns an unquoted 1.10 into the number 1.1, which is worth spelling out.
  const hint = typeof v === 'number' && check === semver ? ' (quote it so YAML keeps it a string)' : '';
  c.add(here, `expected ${check.expected}, got ${describe(v)}${hint}`);
  return undefined;
}

/** First present source wins; an alias that disagrees with it is an issue (which one would the user mean?). */
export function pick<T>(c: Issues, sources: (Found<T> | undefined)[]): Found<T> | undefined {
  const [first, ...rest] = sources.filter((s): s is Found<T> => s !== undefined);
  for (const other of rest) {
    if (first && !same(first.value, other.value)) {
      const [a, b] = [first.shown ?? describe(first.value), other.shown ?? describe(other.value)];
      c.add(
        other.segs,
        `conflicts with ${bt(formatPath(first.segs))} (${b} vs ${a}); set only one of the two`,
      );
    }
  }
  return first;
}

export function required<T>(c: Issues, obj: Rec, segs: Segs, keys: readonly string[], check: Check<T>) {
  const found = pick(
    c,
    keys.map((k) => read(c, obj, segs, k, check, true)),
  );
  if (!keys.some((k) => Object.hasOwn(obj, k))) {
    const alt = keys.length > 1 ? ` (or ${keys.slice(1).map(bt).join(', ')})` : '';
    c.add(
      segs,
      `missing required field ${bt(keys[0] ?? '')}${alt}`,
      'value',
      formatPath([...segs, keys[0] ?? '']),
    );
  }
  return found;
}
