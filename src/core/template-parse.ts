/**
 * Raw (YAML/JSON-shaped) template -> resolved `TaskTemplate`, collecting every problem instead of stopping
 * at the first, because someone fixing a file wants the whole list in one run. Accepts our field names and
 * Tasker's (Rails `step_templates`/`handler_class`/..., tasker-core `retry.backoff_base_ms`/...).
 * Pure (no I/O); issues carry raw `segments` so the YAML loader can map them back to line:column.
 */
import { findCycle } from './dag.js';
import { DEFAULT_BACKOFF, DEFAULT_MAX_ATTEMPTS } from './template.js';
import type { BusinessFields, RetryPolicy, StepTemplate, TaskTemplate } from './template.js';

import { checkContextSchema } from './template-context-schema.js';
import { parseMonitoring } from './template-monitoring.js';
import { parseRetention } from './template-retention.js';
import {
  bool,
  bt,
  describe,
  ident,
  isRec,
  list,
  map,
  num,
  pick,
  positive,
  read,
  required,
  semver,
  str,
  text,
  timeoutSeconds,
  formatPath,
  Issues,
} from './template-fields.js';
import type { Check, Found, PathSegment, Rec, Segs, TemplateIssue } from './template-fields.js';
import { didYouMean } from './suggest.js';

export type { PathSegment, TemplateIssue } from './template-fields.js';
export { formatPath } from './template-fields.js';
export interface ParseResult {
  /** Present only when there are no issues. */
  template?: TaskTemplate | undefined;
  issues: TemplateIssue[];
  /** Accepted keys worth telling about (Tasker keys this engine ignores); never stop the template loading. */
  warnings: TemplateIssue[];
}

const HANDLERS_BY_NAME = 'step handlers are TypeScript functions registered by name (`handler_class`)';
const CUSTOM_EVENTS = 'a handler publishes custom events with ctx.emit(name, payload), no declaration needed';

/**
 * Known keys per level. `ignored` are the keys of Tasker's TaskTemplate and StepTemplate this engine has no
 * use for: accepted so Tasker's files load as they ship, each reported as a warning naming why.
 */
export const TEMPLATE_KEYS = {
  template: {
    keys: [
      'namespace',
      'name',
      'version',
      'description',
      'context_schema',
      'steps',
      'business',
      'sla_seconds',
      'critical',
      'handler_config',
      'retention',
    ],
    aliases: ['namespace_name', 'schema', 'step_templates'],
    ignored: {
      task_handler_class: HANDLERS_BY_NAME,
      module_namespace: HANDLERS_BY_NAME,
      class_name: HANDLERS_BY_NAME,
      concurrent: 'steps whose dependencies are done always run concurrently',
      custom_events: CUSTOM_EVENTS,
      environments: 'per-environment overrides are not applied; load a different file per environment',
      named_steps: 'the steps are the ones under `step_templates`',
      default_dependent_system: 'not used by this engine',
      default_context: 'a task gets exactly the context it is created with',
      default_options: 'not used by this engine',
    },
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
    ignored: {
      skippable: 'steps are never skipped; resolve one manually (`tasker resolve`) instead',
      dependent_system: 'not used by this engine',
      custom_events: CUSTOM_EVENTS,
    },
  },
  retry: {
    keys: ['retryable', 'max_attempts', 'backoff'],
    aliases: ['limit', 'backoff_base_ms', 'max_backoff_ms'],
  },
  backoff: { keys: ['base_seconds', 'multiplier', 'max_seconds', 'jitter'], aliases: [] },
  business: { keys: ['value_field', 'tier_field', 'region_field', 'customer_field'], aliases: [] },
} as const;

function checkKeys(c: Issues, obj: Rec, segs: Segs, level: keyof typeof TEMPLATE_KEYS): void {
  const spec = TEMPLATE_KEYS[level];
  const ignored: Readonly<Record<string, string>> = 'ignored' in spec ? spec.ignored : {};
  const known: readonly string[] = [...spec.keys, ...spec.aliases, ...Object.keys(ignored)];
  for (const k of Object.keys(obj)) {
    const why = Object.hasOwn(ignored, k) ? ignored[k] : undefined;
    if (why !== undefined) c.warn([...segs, k], `Tasker key accepted and ignored: ${why}`);
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
    return { issues: c.list, warnings: c.warnings };
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
  const monitoring = parseMonitoring(c, raw);
  const retention = parseRetention(c, raw);
  if (c.list.length > 0 || !namespace || !name || !version) return { issues: c.list, warnings: c.warnings };
  const template: TaskTemplate = {
    namespace: namespace.value,
    name: name.value,
    version: version.value,
    steps,
  };
  if (description) template.description = description.value;
  if (schema) template.contextSchema = schema.value;
  if (business) template.business = business;
  if (retention) template.retention = retention;
  Object.assign(template, monitoring);
  return { template, issues: [], warnings: c.warnings };
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
  // Tasker's files put a step's timeout in its handler_config; our own key wins when both are given (the
  // handler may use its config value for something tighter, like an HTTP client's timeout).
  const timeout = read(c, s, segs, 'timeout_seconds', timeoutSeconds)?.value ?? configTimeout(c, step, segs);
  if (timeout !== undefined) step.timeoutSeconds = timeout;
  const sla = read(c, s, segs, 'sla_seconds', timeoutSeconds);
  if (sla) step.slaSeconds = sla.value;
  return { segs, name, deps, step };
}

/** handler_config.timeout_seconds as the step's timeout; a value that cannot be one is the handler's own. */
function configTimeout(c: Issues, step: StepTemplate, segs: Segs): number | undefined {
  const v = step.handlerConfig.timeout_seconds;
  if (v === undefined || v === null) return undefined;
  const ok = timeoutSeconds.accept(v);
  if (ok === undefined)
    c.warn(
      [...segs, 'handler_config', 'timeout_seconds'],
      `not used as the step's timeout (expected ${timeoutSeconds.expected}, got ${describe(v)}); passed to the handler as is`,
    );
  return ok;
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
