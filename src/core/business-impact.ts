/**
 * What failed workflows cost, in the terms of the business fields each template declares (value, tier,
 * region, customer), plus generic recommendations for the most frequent failures. Pure: the caller
 * selects the failed tasks; the HTTP API maps the result to snake_case.
 *
 * Context values become object keys here, so every map is built as a Map and handed out as a
 * null-prototype object: a region named "__proto__" is an ordinary key and cannot reach any prototype.
 */
import { dependentSystem, formatSeconds, isNonRetryable, percent, plural } from './analysis.js';
import { ENGINE_ERROR_TYPES } from './outcomes.js';
import type { TaskRecord } from './records.js';
import type { StepTemplate } from './template.js';

export interface FailedTaskSample {
  /** A failed task; `task.business` names context fields, `task.context` holds their values. */
  task: TaskRecord;
  failedStep: { name: string; errorType: string | null; errorMessage: string | null } | null;
}

export interface BusinessImpact {
  totalFailedWorkflows: number;
  /** Sum of the value fields (numeric strings count; anything else counts 0), rounded to cents. */
  estimatedRevenueLoss: number;
  /** Distinct customer values; a task without one counts as a customer of its own. */
  affectedCustomers: number;
  /** region → revenue loss; "unknown" when the task has no region. Largest loss first. */
  geographicImpact: Record<string, number>;
  /** tier → revenue loss; "unknown" when the task has no tier. Largest loss first. */
  customerTierImpact: Record<string, number>;
  /** "<step>:<error_type>" → count, most frequent first (ties in order of first appearance). */
  failureCategories: Record<string, number>;
  /** "<step>:<error_type>" → revenue loss of those workflows (same keys), for revenue shares. */
  failureCategoryRevenue: Record<string, number>;
  /** Tasks none of whose declared business fields (if any) held a usable value. */
  tasksWithoutBusinessFields: number;
}

export const UNKNOWN = 'unknown';

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A context value at `path`: the literal key first, else a dotted walk through own properties only. */
export function readContextField(context: Record<string, unknown>, path: string | undefined): unknown {
  if (path === undefined || path === '') return undefined;
  if (Object.hasOwn(context, path)) return context[path];
  let at: unknown = context;
  for (const segment of path.split('.')) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, segment)) return undefined;
    at = (at as Record<string, unknown>)[segment];
  }
  return at;
}

function asAmount(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string') return null;
  const t = v.trim();
  if (!DECIMAL.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

function asKey(v: unknown): string | null {
  if (typeof v === 'string') return v.trim() === '' ? null : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/** A null-prototype record, entries sorted by value descending (stable, so ties keep first appearance). */
function toRecord(map: Map<string, number>, round: (n: number) => number): Record<string, number> {
  const out = Object.create(null) as Record<string, number>;
  for (const [k, v] of [...map].sort((a, b) => b[1] - a[1])) out[k] = round(v);
  return out;
}

/** What a task's template's business fields read from its context: kept on the task row at creation. */
export interface BusinessKeys {
  value: number | null;
  customer: string | null;
  region: string | null;
  tier: string | null;
}

/**
 * The value, customer, region and tier of one task, as its template's business fields read them from its
 * context. Kept on the task row at creation, so failure groups and the business-impact report add up
 * money, customers, regions and tiers in SQL.
 */
export function businessKeys(
  business: TaskRecord['business'],
  context: Record<string, unknown>,
): BusinessKeys {
  if (!business) return { value: null, customer: null, region: null, tier: null };
  return {
    value: asAmount(readContextField(context, business.valueField)),
    customer: asKey(readContextField(context, business.customerField)),
    region: asKey(readContextField(context, business.regionField)),
    tier: asKey(readContextField(context, business.tierField)),
  };
}

export function categoryKey(failedStep: { name: string; errorType: string | null } | null): string {
  return `${failedStep?.name ?? UNKNOWN}:${failedStep?.errorType ?? UNKNOWN}`;
}

/**
 * Failed tasks counted by what the report breaks them down by: the store aggregates a window's failed
 * tasks into these rows in SQL (store/analytics-sql.ts), so no task reaches Node.
 */
export interface ImpactGroup {
  region: string | null;
  tier: string | null;
  /** The first failing step (by position) of the tasks, null when none recorded one. */
  step: string | null;
  errorType: string | null;
  tasks: number;
  /** Sum of the tasks' values (a task without a usable value counts 0). */
  value: number;
  /** Tasks none of whose business fields held a usable value. */
  withoutFields: number;
}

/** Customers of the failed tasks: distinct named ones, and tasks without one (each a customer of its own). */
export interface ImpactCustomers {
  named: number;
  anonymous: number;
}

/** The report from grouped failed tasks; groups in a stable order give a stable order to ties. */
export function impactFromGroups(groups: readonly ImpactGroup[], customers: ImpactCustomers): BusinessImpact {
  let revenue = 0;
  let total = 0;
  let withoutFields = 0;
  const regions = new Map<string, number>();
  const tiers = new Map<string, number>();
  const categories = new Map<string, number>();
  const categoryRevenue = new Map<string, number>();
  for (const g of groups) {
    revenue += g.value;
    total += g.tasks;
    withoutFields += g.withoutFields;
    add(regions, g.region ?? UNKNOWN, g.value);
    add(tiers, g.tier ?? UNKNOWN, g.value);
    const category = categoryKey(g.step === null ? null : { name: g.step, errorType: g.errorType });
    add(categories, category, g.tasks);
    add(categoryRevenue, category, g.value);
  }
  const categoryRecord = toRecord(categories, (n) => n);
  const revenueRecord = Object.create(null) as Record<string, number>;
  for (const k of Object.keys(categoryRecord)) revenueRecord[k] = round2(categoryRevenue.get(k) ?? 0);
  return {
    totalFailedWorkflows: total,
    estimatedRevenueLoss: round2(revenue),
    affectedCustomers: customers.named + customers.anonymous,
    geographicImpact: toRecord(regions, round2),
    customerTierImpact: toRecord(tiers, round2),
    failureCategories: categoryRecord,
    failureCategoryRevenue: revenueRecord,
    tasksWithoutBusinessFields: withoutFields,
  };
}

/**
 * The same report from failed tasks held in memory (grouped here as the store groups them in SQL). Ties
 * keep the order of first appearance.
 */
export function summarizeBusinessImpact(samples: readonly FailedTaskSample[]): BusinessImpact {
  const groups = new Map<string, ImpactGroup>();
  const customers = new Set<string>();
  let anonymous = 0;
  for (const { task, failedStep } of samples) {
    const k = businessKeys(task.business ?? {}, task.context ?? {});
    if (k.customer === null) anonymous += 1;
    else customers.add(k.customer);
    const step = failedStep?.name ?? null;
    const errorType = failedStep?.errorType ?? null;
    const key = JSON.stringify([k.region, k.tier, step, errorType]);
    let g = groups.get(key);
    if (!g) {
      g = { region: k.region, tier: k.tier, step, errorType, tasks: 0, value: 0, withoutFields: 0 };
      groups.set(key, g);
    }
    g.tasks += 1;
    g.value += k.value ?? 0;
    if (k.value === null && k.region === null && k.tier === null && k.customer === null) g.withoutFields += 1;
  }
  return impactFromGroups([...groups.values()], { named: customers.size, anonymous });
}

/** Splits "<step>:<error_type>"; step names cannot contain ':' (template validation), error types may. */
function parseCategory(key: string): { step: string; errorType: string } {
  const at = key.indexOf(':');
  return at < 0
    ? { step: key, errorType: UNKNOWN }
    : { step: key.slice(0, at), errorType: key.slice(at + 1) };
}

export const OUTCOME_PHRASES: Readonly<Record<string, string | undefined>> = {
  [UNKNOWN]: 'failed without a recorded error type',
  [ENGINE_ERROR_TYPES.timeout]: 'timed out',
  [ENGINE_ERROR_TYPES.workerLost]: 'lost its worker',
  [ENGINE_ERROR_TYPES.cancelled]: 'was cancelled',
  [ENGINE_ERROR_TYPES.notSerializable]: 'returned results that are not JSON-serializable',
};

export function adviceFor(step: string, errorType: string, template: StepTemplate | undefined): string {
  const system = dependentSystem(step, template);
  const timeout = template?.timeoutSeconds === undefined ? '' : `${formatSeconds(template.timeoutSeconds)} `;
  switch (errorType) {
    case ENGINE_ERROR_TYPES.timeout:
      return `check the health and capacity of ${system} and the ${timeout}timeout of ${step}`;
    case ENGINE_ERROR_TYPES.workerLost:
      return `check worker logs and memory, and that lease_seconds covers how long ${step} runs`;
    case ENGINE_ERROR_TYPES.cancelled:
      return `find out what cancels ${step}`;
    case ENGINE_ERROR_TYPES.notSerializable:
      return `make handler ${template?.handler ?? `of ${step}`} return plain JSON data`;
    case UNKNOWN:
      return `check the error logs of ${system}`;
  }
  if (isNonRetryable(errorType, template)) {
    return `it is not retried, so validate its input before the workflow starts, fix the rejected data and \`tasker retry\` the affected tasks`;
  }
  const budget = template ? ` (now ${template.retry.maxAttempts})` : '';
  return `check the error logs of ${system}; if the failures are transient, consider more attempts${budget} or a longer backoff`;
}

/**
 * One action per failure category, most frequent first (then larger revenue loss, then key), so the
 * order does not depend on the order the tasks were read in.
 * @param templates step templates keyed by step name
 */
export function recommendations(
  impact: BusinessImpact,
  templates: ReadonlyMap<string, StepTemplate>,
  limit = 3,
): string[] {
  const revenueOf = (k: string) => impact.failureCategoryRevenue[k] ?? 0;
  const ranked = Object.entries(impact.failureCategories).sort(
    ([ka, a], [kb, b]) => b - a || revenueOf(kb) - revenueOf(ka) || (ka < kb ? -1 : ka > kb ? 1 : 0),
  );
  return ranked.slice(0, Math.max(0, limit)).map(([key, count]) => {
    const { step, errorType } = parseCategory(key);
    const share =
      impact.estimatedRevenueLoss > 0
        ? ` (${percent(revenueOf(key), impact.estimatedRevenueLoss)} of the estimated revenue loss)`
        : '';
    const workflows = `${plural(count, 'failed workflow')}${share}`;
    if (step === UNKNOWN && !templates.has(step)) {
      return `${workflows} recorded no failing step: inspect them with \`tasker show <task-id>\``;
    }
    const what = OUTCOME_PHRASES[errorType] ?? `failed with ${errorType}`;
    return `${step} ${what} in ${workflows}: ${adviceFor(step, errorType, templates.get(step))}`;
  });
}
