/**
 * Raw (YAML/JSON-shaped) template -> resolved `TaskTemplate`, collecting every problem instead of stopping
 * at the first, because someone fixing a file wants the whole list in one run. Accepts our field names and
 * Tasker's (Rails `step_templates`/`handler_class`/..., tasker-core `retry.backoff_base_ms`/...).
 * Pure (no I/O); issues carry raw `segments` so the YAML loader can map them back to line:column.
 */
import { Ajv } from 'ajv';
import type { ErrorObject } from 'ajv';
import type { ValidationIssue } from '../errors.js';
import { findCycle } from './dag.js';
import { parseSemver } from './semver.js';
import { DEFAULT_BACKOFF, DEFAULT_MAX_ATTEMPTS } from './template.js';
import type { BusinessFields, RetryPolicy, StepTemplate, TaskTemplate } from './template.js';

export type PathSegment = string | number;

export interface TemplateIssue extends ValidationIssue {
  segments: PathSegment[];
  /** 'key' when the key itself is the problem (unknown key), so locators point at the key, not its value. */
  at: 'key' | 'value';
}

export interface ParseResult {
  /** Present only when there are no issues. */
  template?: TaskTemplate | undefined;
  issues: TemplateIssue[];
}

/** Known keys per level. `ignored` are Tasker keys we accept so existing files load, but do not use. */
export const TEMPLATE_KEYS = {
  template: {
    keys: ['namespace', 'name', 'version', 'description', 'context_schema', 'steps', 'business'],
    aliases: ['namespace_name', 'schema', 'step_templates'],
    ignored: [
      'task_handler_class',
      'module_namespace',
      'concurrent',
      'custom_events',
      'environments',
      'named_steps',
      'default_dependent_system',
    ],
  },
  step: {
    keys: [
      'name',
      'description',
      'handler',
      'depends_on',
      'retry',
      'timeout_seconds',
      'sla_seconds',
      'handler_config',
    ],
    aliases: [
      'handler_class',
      'depends_on_step',
      'depends_on_steps',
      'default_retryable',
      'default_retry_limit',
    ],
    ignored: ['skippable', 'dependent_system', 'custom_events'],
  },
  retry: {
    keys: ['retryable', 'max_attempts', 'backoff'],
    aliases: ['limit', 'backoff_base_ms', 'max_backoff_ms'],
  },
  backoff: { keys: ['base_seconds', 'multiplier', 'max_seconds', 'jitter'], aliases: [] },
  business: { keys: ['value_field', 'tier_field', 'region_field', 'customer_field'], aliases: [] },
} as const;

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

type Rec = Record<string, unknown>;
type Segs = readonly PathSegment[];
interface Found<T> {
  segs: PathSegment[];
  value: T;
  /** How to show the value in a conflict message when it was converted (ms -> s). */
  shown?: string;
}
interface Check<T> {
  expected: string;
  accept(v: unknown): T | undefined;
}

// ---------------------------------------------------------------------------------------------- helpers

export function formatPath(segs: Segs): string {
  return segs.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/**
 * Edit distance counting an adjacent transposition as one edit (optimal string alignment), since swapped
 * letters (`retyr`, `nmae`) are the most common typo in hand-written keys.
 */
export function levenshtein(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    for (let j = 1; j <= b.length; j++) {
      const up = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (d[i - 2]?.[j - 2] as number) + 1);
      }
      row[j] = best;
    }
  }
  return d[a.length]?.[b.length] ?? 0;
}

/** Closest candidate (case-insensitive), or undefined when nothing is close enough to be a likely typo. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const limit = word.length <= 4 ? 1 : word.length <= 12 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance && c !== word) [best, bestDistance] = [c, d];
  }
  return bestDistance <= limit ? best : undefined;
}

export function didYouMean(word: string, candidates: Iterable<string>): string {
  const s = suggest(word, candidates);
  return s === undefined ? '' : `; did you mean \`${s}\`?`;
}

function isRec(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (isRec(v)) return 'a map';
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const bt = (s: string): string => `\`${s}\``;

class Issues {
  readonly list: TemplateIssue[] = [];
  add(segments: Segs, message: string, at: 'key' | 'value' = 'value', path = formatPath(segments)): void {
    this.list.push({ path, message, segments: [...segments], at });
  }
}

// ------------------------------------------------------------------------------------------------ checks

const str: Check<string> = {
  expected: 'a non-empty string',
  accept: (v) => (typeof v === 'string' && v.trim() !== '' ? v : undefined),
};
const text: Check<string> = { expected: 'a string', accept: (v) => (typeof v === 'string' ? v : undefined) };
const ident: Check<string> = {
  expected: 'a name of letters, digits, `_`, `.`, `-` starting with a letter or `_`',
  accept: (v) => (typeof v === 'string' && NAME_RE.test(v) ? v : undefined),
};
const bool: Check<boolean> = {
  expected: 'true or false',
  accept: (v) => (typeof v === 'boolean' ? v : undefined),
};
const map: Check<Rec> = { expected: 'a map', accept: (v) => (isRec(v) ? v : undefined) };
const list: Check<unknown[]> = { expected: 'a list', accept: (v) => (Array.isArray(v) ? v : undefined) };
const semver: Check<string> = {
  expected: 'a semantic version string like "1.0.0"',
  accept: (v) => (typeof v === 'string' && parseSemver(v) ? v : undefined),
};
function num(expected: string, ok: (n: number) => boolean): Check<number> {
  return {
    expected,
    accept: (v) => (typeof v === 'number' && Number.isFinite(v) && ok(v) ? v : undefined),
  };
}
const positive = num('a number > 0', (n) => n > 0);
/** Node timers overflow past 2^31-1 ms (~24.8 days) and would fire at once. */
const MAX_TIMEOUT_SECONDS = 86_400 * 24;
const timeoutSeconds = num(
  `a number > 0 and at most ${MAX_TIMEOUT_SECONDS} (24 days)`,
  (n) => n > 0 && n <= MAX_TIMEOUT_SECONDS,
);

/** Reads one key; null counts as absent for optional keys (Tasker files often leave keys blank). */
function read<T>(c: Issues, obj: Rec, segs: Segs, key: string, check: Check<T>, required = false) {
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
function pick<T>(c: Issues, sources: (Found<T> | undefined)[]): Found<T> | undefined {
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

function required<T>(c: Issues, obj: Rec, segs: Segs, keys: readonly string[], check: Check<T>) {
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

function checkKeys(c: Issues, obj: Rec, segs: Segs, level: keyof typeof TEMPLATE_KEYS): void {
  const spec = TEMPLATE_KEYS[level];
  const ignored: readonly string[] = 'ignored' in spec ? spec.ignored : [];
  const known: readonly string[] = [...spec.keys, ...spec.aliases, ...ignored];
  for (const k of Object.keys(obj)) {
    if (known.includes(k)) continue;
    const hint = didYouMean(k, known) || ` (expected one of: ${spec.keys.join(', ')})`;
    c.add([...segs, k], `unknown key ${bt(k)}${hint}`, 'key');
  }
}

// ------------------------------------------------------------------------------------------ the parser

interface ParsedStep {
  segs: PathSegment[];
  name: Found<string> | undefined;
  deps: Found<string>[];
  step: StepTemplate;
}

export function parseTemplate(raw: unknown): ParseResult {
  const c = new Issues();
  if (!isRec(raw)) {
    c.add([], `expected a map with namespace, name, version and steps, got ${describe(raw)}`);
    return { issues: c.list };
  }
  checkKeys(c, raw, [], 'template');
  const namespace = required(c, raw, [], ['namespace', 'namespace_name'], ident);
  const name = required(c, raw, [], ['name'], ident);
  const version = required(c, raw, [], ['version'], semver);
  const description = read(c, raw, [], 'description', text);
  const schema = pick(c, [read(c, raw, [], 'context_schema', map), read(c, raw, [], 'schema', map)]);
  if (schema) checkContextSchema(c, schema);
  const business = parseBusiness(c, raw);
  const steps = parseSteps(c, raw);
  if (c.list.length > 0 || !namespace || !name || !version) return { issues: c.list };
  const template: TaskTemplate = {
    namespace: namespace.value,
    name: name.value,
    version: version.value,
    steps,
  };
  if (description) template.description = description.value;
  if (schema) template.contextSchema = schema.value;
  if (business) template.business = business;
  return { template, issues: [] };
}

function parseBusiness(c: Issues, raw: Rec): BusinessFields | undefined {
  const b = read(c, raw, [], 'business', map);
  if (!b) return undefined;
  checkKeys(c, b.value, b.segs, 'business');
  const out: BusinessFields = {};
  for (const [key, prop] of Object.entries(BUSINESS_PROPS)) {
    const f = read(c, b.value, b.segs, key, str);
    if (f) out[prop] = f.value;
  }
  return out;
}

const BUSINESS_PROPS = {
  value_field: 'valueField',
  tier_field: 'tierField',
  region_field: 'regionField',
  customer_field: 'customerField',
} as const;

function parseSteps(c: Issues, raw: Rec): StepTemplate[] {
  const found = required(c, raw, [], ['steps', 'step_templates'], list);
  if (!found) return [];
  if (found.value.length === 0) c.add(found.segs, 'expected at least one step, got an empty list');
  const parsed: ParsedStep[] = [];
  found.value.forEach((s, i) => {
    const segs = [...found.segs, i];
    if (isRec(s)) parsed.push(parseStep(c, s, segs));
    else c.add(segs, `expected a step (a map with name and handler), got ${describe(s)}`);
  });
  checkGraph(c, parsed);
  return parsed.map((p) => p.step);
}

function parseStep(c: Issues, s: Rec, segs: PathSegment[]): ParsedStep {
  checkKeys(c, s, segs, 'step');
  const name = required(c, s, segs, ['name'], ident);
  const handler = required(c, s, segs, ['handler', 'handler_class'], str);
  const deps = readDeps(c, s, segs);
  const step: StepTemplate = {
    name: name?.value ?? '',
    handler: handler?.value ?? '',
    dependsOn: [...new Set(deps.map((d) => d.value))],
    retry: parseRetry(c, s, segs),
    handlerConfig: read(c, s, segs, 'handler_config', map)?.value ?? {},
  };
  const description = read(c, s, segs, 'description', text);
  if (description) step.description = description.value;
  const timeout = read(c, s, segs, 'timeout_seconds', timeoutSeconds);
  if (timeout) step.timeoutSeconds = timeout.value;
  const sla = read(c, s, segs, 'sla_seconds', timeoutSeconds);
  if (sla) step.slaSeconds = sla.value;
  return { segs, name, deps, step };
}

/** `depends_on`, then Tasker's `depends_on_step` and `depends_on_steps`, merged in that order. */
function readDeps(c: Issues, s: Rec, segs: Segs): Found<string>[] {
  const names = (key: string): Found<string>[] => {
    const l = read(c, s, segs, key, { ...list, expected: 'a list of step names' });
    return (l?.value ?? []).flatMap((d, j) => {
      const segs = [...(l?.segs ?? []), j];
      if (typeof d === 'string' && d !== '') return [{ segs, value: d }];
      c.add(segs, `expected a step name, got ${describe(d)}`);
      return [];
    });
  };
  const single = read(c, s, segs, 'depends_on_step', str);
  return [...names('depends_on'), ...(single ? [single] : []), ...names('depends_on_steps')];
}

function parseRetry(c: Issues, s: Rec, stepSegs: Segs): RetryPolicy {
  const r = read(c, s, stepSegs, 'retry', map) ?? { segs: [...stepSegs, 'retry'], value: {} };
  checkKeys(c, r.value, r.segs, 'retry');
  const at = (key: string, check: Check<number>, obj = r.value, segs: Segs = r.segs) =>
    read(c, obj, segs, key, check);
  const retryable = pick(c, [
    read(c, r.value, r.segs, 'retryable', bool),
    read(c, s, stepSegs, 'default_retryable', bool),
  ]);
  const attempts = num('an integer ≥ 1', (n) => Number.isInteger(n) && n >= 1);
  const maxAttempts = pick(c, [
    at('max_attempts', attempts),
    at('limit', attempts),
    at('default_retry_limit', attempts, s, stepSegs),
  ]);

  // `backoff` is our map, or tasker-core's strategy name next to `backoff_base_ms`/`max_backoff_ms`.
  const rawBackoff = r.value.backoff;
  const b: Found<Rec> = { segs: [...r.segs, 'backoff'], value: isRec(rawBackoff) ? rawBackoff : {} };
  if (isRec(rawBackoff)) checkKeys(c, b.value, b.segs, 'backoff');
  else if (rawBackoff != null && rawBackoff !== 'exponential' && rawBackoff !== 'fixed') {
    c.add(
      b.segs,
      `expected a map (base_seconds, multiplier, max_seconds, jitter) or "exponential" or "fixed", got ${describe(rawBackoff)}`,
    );
  }
  const ms = (f: Found<number> | undefined): Found<number> | undefined =>
    f && { segs: f.segs, value: f.value / 1000, shown: `${f.value} ms = ${f.value / 1000} s` };
  const base = pick(c, [at('base_seconds', positive, b.value, b.segs), ms(at('backoff_base_ms', positive))]);
  const multiplier = at(
    'multiplier',
    num('a number ≥ 1', (n) => n >= 1),
    b.value,
    b.segs,
  );
  const jitter = at(
    'jitter',
    num('a number from 0 to 1', (n) => n >= 0 && n <= 1),
    b.value,
    b.segs,
  );
  const max = pick(c, [at('max_seconds', positive, b.value, b.segs), ms(at('max_backoff_ms', positive))]);
  const baseSeconds = base?.value ?? DEFAULT_BACKOFF.baseSeconds;
  if (max && max.value < baseSeconds) {
    c.add(max.segs, `expected a number ≥ the base delay (${baseSeconds} s), got ${max.value} s`);
  }
  return {
    retryable: retryable?.value ?? true,
    maxAttempts: maxAttempts?.value ?? DEFAULT_MAX_ATTEMPTS,
    backoff: {
      baseSeconds,
      multiplier: multiplier?.value ?? (rawBackoff === 'fixed' ? 1 : DEFAULT_BACKOFF.multiplier),
      // A base above the default cap without an explicit cap means "at least base", not an error.
      maxSeconds: max?.value ?? Math.max(DEFAULT_BACKOFF.maxSeconds, baseSeconds),
      jitter: jitter?.value ?? DEFAULT_BACKOFF.jitter,
    },
  };
}

function checkGraph(c: Issues, parsed: ParsedStep[]): void {
  const byName = new Map<string, ParsedStep>();
  for (const p of parsed) {
    if (!p.name) continue;
    const first = byName.get(p.name.value);
    if (first)
      c.add(
        p.name.segs,
        `duplicate step name ${bt(p.name.value)} (first defined at ${formatPath(first.segs)})`,
      );
    else byName.set(p.name.value, p);
  }
  const names = [...byName.keys()];
  for (const p of parsed) {
    for (const d of p.deps) {
      if (d.value === p.name?.value) c.add(d.segs, `step ${bt(d.value)} depends on itself`);
      else if (!byName.has(d.value)) {
        c.add(
          d.segs,
          `unknown dependency ${bt(d.value)}: no step has that name${didYouMean(d.value, names)}`,
        );
      }
    }
  }
  // Self-dependencies are already reported; leaving them out keeps the cycle report about real loops.
  const nodes = [...byName.values()].map((p) => ({
    name: p.step.name,
    dependsOn: p.step.dependsOn.filter((d) => d !== p.step.name),
  }));
  const cycle = findCycle(nodes);
  if (cycle) {
    const [from, to] = cycle;
    const edge = byName.get(from ?? '')?.deps.find((d) => d.value === to);
    c.add(edge?.segs ?? [], `dependency cycle: ${cycle.join(' -> ')} (each step depends on the next)`);
  }
}

function checkContextSchema(c: Issues, schema: Found<Rec>): void {
  // Formats are not validated (no ajv-formats), so Tasker schemas using `format: email` still compile;
  // strict mode stays on so a typo like `propertys` is caught rather than silently accepting anything.
  const ajv = new Ajv({ allErrors: true, verbose: true, validateFormats: false, logger: false });
  try {
    if (!(ajv.validateSchema(schema.value) as boolean)) {
      for (const e of firstErrorPerPath(ajv.errors ?? [])) {
        const at = pointerSegments(schema.value, e.instancePath);
        const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues;
        const more = allowed ? ` (${allowed.map(String).join(', ')})` : '';
        const got = `, got ${describe(e.data)}`;
        c.add([...schema.segs, ...at], `invalid JSON Schema: ${e.message ?? 'invalid'}${more}${got}`);
      }
      return;
    }
    ajv.compile(schema.value);
  } catch (e) {
    c.add(schema.segs, `invalid JSON Schema: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** anyOf/oneOf wrappers only repeat what the specific error already says. */
function firstErrorPerPath(errors: ErrorObject[]): ErrorObject[] {
  const byPath = new Map<string, ErrorObject>();
  for (const e of errors) {
    if (!byPath.has(e.instancePath) && e.keyword !== 'anyOf' && e.keyword !== 'oneOf')
      byPath.set(e.instancePath, e);
  }
  return [...byPath.values()];
}

/** JSON pointer -> segments, with array indexes as numbers so they format and locate as `[i]`. */
function pointerSegments(root: unknown, pointer: string): PathSegment[] {
  const out: PathSegment[] = [];
  let node = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const seg = Array.isArray(node) ? Number(key) : key;
    out.push(seg);
    node = Array.isArray(node) ? node[Number(key)] : isRec(node) ? node[key] : undefined;
  }
  return out;
}
