/**
 * Prometheus metrics with the seed's names, fed by the engine's committed events through an exact bus
 * subscription (never sampled or filtered, so counts equal what happened) — an adapter on the bus, never
 * in the core. Labels come from templates only (namespace, name, version, step, status), from code (error
 * type, subscriber, event name: each capped) or from a configured list (tier) — never a task id,
 * correlation id or context value. Each process counts what it committed; Prometheus sums the processes.
 * The two gauges read the store at scrape time and describe the whole store (use max() across processes).
 */
import { Counter, Gauge, Histogram, type Registry, type RegistryContentType } from 'prom-client';
import type { EventPayload, StepEventPayload, TaskEventPayload, TaskerEvent } from '../events/catalog.js';
import { TASK_TERMINAL_STATUS } from '../events/catalog.js';
import type { EventBus } from '../events/bus.js';
import { TaskerError } from '../errors.js';
import type { TaskTemplate } from '../core/template.js';
import { FastCounter, FastHistogram } from './fast-metrics.js';
import type { StoreStats } from '../store/port.js';
import { registerRetentionMetrics, type RetentionMetrics } from './retention-metrics.js';
import { registerStoreGauges, type StoreGauges } from './store-gauges.js';
import { attachTaskSla } from './task-sla-metrics.js';

export type { StoreGauges } from './store-gauges.js';

/** 1 ms … 10 min. */
/** Store operations: a millisecond-scale range (a cycle's write is a few ms; seconds are an incident). */
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const DURATION_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
];

const TERMINAL: Readonly<Record<string, string>> = TASK_TERMINAL_STATUS;
const STEP_END: Record<string, string> = {
  'step.completed': 'completed',
  'step.failed': 'failed',
  'step.retry_scheduled': 'retried',
  'step.cancelled': 'cancelled',
  'step.resolved_manually': 'resolved_manually',
};
const IMPACT: Record<string, string> = { completed: 'realized', failed: 'loss', cancelled: 'cancelled' };
/** Distinct values a code-derived label (error type, subscriber, event) may take before `other`. */
const MAX_CODE_LABELS = 50;

export interface EngineMetricsOptions {
  registry: Registry<RegistryContentType>;
  /** @default 'tasker' */
  prefix?: string;
  version: string;
  /** Allowed `tier` label values (lower case); others count as `other`. */
  tierLabels: readonly string[];
  /** A task's template: its business block (value and tier fields), SLA and whether it is critical. */
  templateOf: (namespace: string, name: string, version: string) => TemplateFacts | undefined;
  /** Every registered template, read at scrape time for tasker_task_sla_seconds. */
  templates?: () => readonly TemplateFacts[];
  /** Reads the store for the gauges; called at most once a second, at scrape time. */
  readGauges?: () => Promise<StoreGauges>;
  /** The store's size and oldest task (retention's gauges), read the same way. */
  readStoreStats?: () => Promise<StoreStats>;
  /**
   * Every registered template's steps with their SLA (seconds), read at scrape time: the
   * tasker_step_sla_seconds gauge alert rules compare step durations with, and the (namespace, name)
   * pairs the store gauges report 0 for when nothing is running.
   */
  steps?: () => Array<{
    namespace: string;
    name: string;
    version?: string;
    step: string;
    slaSeconds: number;
  }>;
}

/** What metrics need of a template. */
export type TemplateFacts = Pick<
  TaskTemplate,
  'namespace' | 'name' | 'version' | 'business' | 'slaSeconds' | 'critical'
>;

export interface EngineMetrics {
  stepSlow(namespace: string, name: string, step: string): void;
  /** One store operation's time, and whether it passed slow_query_threshold_seconds. */
  storeOperation(operation: string, seconds: number, slow: boolean): void;
  subscriberError(subscriber: string, event: string): void;
  eventWithheld(event: string): void;
  pushFailed(): void;
  /** A prune deleted these (retention-metrics.ts). */
  pruned: RetentionMetrics['pruned'];
  detach(): void;
}

/**
 * Label children bound once per label set: prom-client validates and hashes a label object on every
 * inc()/observe(), a visible cost at thousands of steps per second.
 */
function bound<C>(metric: { labels(...values: string[]): C }): (...values: string[]) => C {
  const children = new Map<string, C>();
  // The last label set, compared value by value: events come in runs of one template and step, and a
  // hit builds no key string.
  let last: { values: string[]; child: C } | undefined;
  return (...values) => {
    if (last !== undefined && sameValues(last.values, values)) return last.child;
    const key = values.join('\u0000');
    let c = children.get(key);
    if (!c) {
      c = metric.labels(...values);
      children.set(key, c);
    }
    last = { values, child: c };
    return c;
  };
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Like bound(), for a metric whose last label is `critical`: present, as "true", only on the series of a
 * critical workflow's templates, so every other series keeps the labels it always had.
 */
function critical<C>(
  metric: { labels(labels: Record<string, string>): C },
  names: readonly string[],
): (isCritical: boolean, ...values: string[]) => C {
  // The flag is the first bound value, so bound() caches the critical and the plain child apart.
  const child = bound({
    labels: (flag: string, ...values: string[]) => {
      const labels: Record<string, string> = {};
      names.forEach((n, i) => (labels[n] = values[i] ?? ''));
      if (flag === 'true') labels.critical = 'true';
      return metric.labels(labels);
    },
  });
  return (isCritical, ...values) => child(isCritical ? 'true' : '', ...values);
}

/** Bounded label values: the first MAX_CODE_LABELS distinct values pass, later ones become `other`. */
function capped(): (v: string) => string {
  const seen = new Set<string>();
  return (v) => {
    if (seen.has(v)) return v;
    if (seen.size >= MAX_CODE_LABELS) return 'other';
    seen.add(v);
    return v;
  };
}

export function attachEngineMetrics(bus: EventBus, o: EngineMetricsOptions): EngineMetrics {
  const p = o.prefix ?? 'tasker';
  if (o.registry.getSingleMetric(`${p}_tasks_total`)) {
    throw new TaskerError(
      'CONFIG_INVALID',
      `telemetry.registry: the registry already holds ${p}_* metrics (another open Tasker counts into it); ` +
        'give each Tasker its own registry or another telemetry.prometheus.metric_prefix, or close the other first',
      { field: 'telemetry.registry' },
    );
  }
  const before = new Set(o.registry.getMetricsAsArray().map((m) => m.name));
  const registers = [o.registry];
  const tasks = new FastCounter(
    `${p}_tasks_total`,
    'Tasks that reached a terminal state',
    ['namespace', 'name', 'version', 'status', 'critical'],
    registers,
  );
  const taskDuration = new FastHistogram(
    `${p}_task_duration_seconds`,
    'Task duration from its first step start to its terminal state',
    ['namespace', 'name', 'status'],
    DURATION_BUCKETS,
    registers,
  );
  const steps = new FastCounter(
    `${p}_steps_total`,
    'Step attempts that ended, by outcome (retried: failed and scheduled again)',
    ['namespace', 'name', 'step', 'status', 'critical'],
    registers,
  );
  const stepDuration = new FastHistogram(
    `${p}_step_duration_seconds`,
    'Step attempt duration',
    ['namespace', 'name', 'step', 'status'],
    DURATION_BUCKETS,
    registers,
  );
  const queueWait = new FastHistogram(
    `${p}_step_queue_wait_seconds`,
    'Time from a step becoming ready (or its retry falling due) to an attempt starting',
    ['namespace', 'name', 'step'],
    DURATION_BUCKETS,
    registers,
  );
  const retries = new Counter({
    name: `${p}_step_retries_total`,
    help: 'Step attempts that failed and were scheduled for another attempt',
    labelNames: ['namespace', 'name', 'step', 'error_type', 'critical'],
    registers,
  });
  const timeouts = new Counter({
    name: `${p}_step_timeouts_total`,
    help: 'Step attempts that exceeded their timeout',
    labelNames: ['namespace', 'name', 'step', 'critical'],
    registers,
  });
  const slow = new Counter({
    name: `${p}_step_slow_total`,
    help: 'Step attempts slower than their threshold (sla_seconds or slow_step_threshold_seconds)',
    labelNames: ['namespace', 'name', 'step'],
    registers,
  });
  const businessValue = new Counter({
    name: `${p}_business_value_total`,
    help: "Sum of finished tasks' business value (the template's business.value_field), by tier",
    labelNames: ['namespace', 'name', 'status', 'tier'],
    registers,
  });
  // A gauge only because the seed names it without _total; it only ever goes up: use increase().
  const revenueImpact = new Gauge({
    name: `${p}_business_revenue_impact`,
    help: 'Business value of finished tasks since start: realized (completed), loss (failed), cancelled, recovered (ended after having failed)',
    labelNames: ['namespace', 'name', 'impact_type'],
    registers,
  });
  const subscriberErrors = new Counter({
    name: `${p}_subscriber_errors_total`,
    help: 'Event deliveries a subscriber threw on or fell too far behind to receive',
    labelNames: ['subscriber', 'event'],
    registers,
  });
  const sampledOut = new Counter({
    name: `${p}_events_sampled_out_total`,
    help: 'Events withheld from subscribers and logs by event_sampling_rate or filtered_events',
    labelNames: ['event'],
    registers,
  });
  const storeOps = new Histogram({
    name: `${p}_store_operation_duration_seconds`,
    help: 'Time of each store (database) operation, by operation',
    labelNames: ['operation'],
    buckets: STORE_BUCKETS,
    registers,
  });
  const storeOpOf = bound(storeOps);
  const storeSlow = new Counter({
    name: `${p}_store_slow_queries_total`,
    help: 'Store operations slower than slow_query_threshold_seconds, by operation',
    labelNames: ['operation'],
    registers,
  });
  const pushFailures = new Counter({
    name: `${p}_metrics_push_failures_total`,
    help: 'Pushes to the Pushgateway that failed after every retry',
    registers,
  });
  if (o.steps) {
    const steps = o.steps;
    new Gauge({
      name: `${p}_step_sla_seconds`,
      help: "Each step's duration threshold (sla_seconds, else slow_step_threshold_seconds): what alerts compare with",
      labelNames: ['namespace', 'name', 'step'],
      registers,
      collect() {
        this.reset();
        // Several versions of a template may be registered: the largest threshold of a step counts.
        const max = new Map<
          string,
          { labels: { namespace: string; name: string; step: string }; v: number }
        >();
        for (const s of steps()) {
          const key = `${s.namespace}\u0000${s.name}\u0000${s.step}`;
          const cur = max.get(key);
          if (!cur || s.slaSeconds > cur.v)
            max.set(key, { labels: { namespace: s.namespace, name: s.name, step: s.step }, v: s.slaSeconds });
        }
        for (const { labels, v } of max.values()) this.set(labels, v);
      },
    });
  }
  new Gauge({
    name: `${p}_build_info`,
    help: 'tasker-engine version',
    labelNames: ['version'],
    registers,
  }).set({ version: o.version }, 1);

  if (o.readGauges) registerStoreGauges(o.registry, p, o.readGauges, o.steps ?? (() => []));
  const retention = registerRetentionMetrics(
    o.registry,
    p,
    o.readStoreStats ?? (() => Promise.reject(new Error('no store'))),
  );

  const errorType = capped();
  const subscriberLabel = capped();
  const eventLabel = capped();
  const tiers = new Set(o.tierLabels);
  const tierOf = (v: unknown) => {
    const t = typeof v === 'string' ? v.toLowerCase() : '';
    return tiers.has(t) ? t : 'other';
  };

  const tasksOf = critical(tasks, ['namespace', 'name', 'version', 'status']);
  const taskDurationOf = bound(taskDuration);
  const stepsOf = critical(steps, ['namespace', 'name', 'step', 'status']);
  const stepDurationOf = bound(stepDuration);
  const queueWaitOf = bound(queueWait);
  const retriesOf = critical(retries, ['namespace', 'name', 'step', 'error_type']);
  const timeoutsOf = critical(timeouts, ['namespace', 'name', 'step']);
  const businessValueOf = bound(businessValue);
  const revenueImpactOf = bound(revenueImpact);
  const facts = new Map<string, TemplateFacts | undefined>();
  const factsOf = (ns: string, name: string, version: string): TemplateFacts | undefined => {
    const key = `${ns}\u0000${name}\u0000${version}`;
    if (!facts.has(key)) facts.set(key, o.templateOf(ns, name, version));
    return facts.get(key);
  };
  const taskSla = attachTaskSla(o.registry, p, o.templates ?? (() => []));

  // Series exist from the start at 0 for every registered template: Prometheus's increase() and rate()
  // need a sample before the first failure, or the first failed task of a process is never seen.
  for (const t of o.steps?.() ?? []) {
    const c = factsOf(t.namespace, t.name, t.version ?? '')?.critical === true;
    for (const status of ['completed', 'failed'] as const) {
      tasksOf(c, t.namespace, t.name, t.version ?? '', status).inc(0);
      stepsOf(c, t.namespace, t.name, t.step, status).inc(0);
      for (const tier of [...tiers, 'other']) businessValue.labels(t.namespace, t.name, status, tier).inc(0);
    }
    timeoutsOf(c, t.namespace, t.name, t.step).inc(0);
    slow.labels(t.namespace, t.name, t.step).inc(0);
  }

  // Label order is each metric's labelNames order.
  const onTerminal = (status: string, t: TaskEventPayload) => {
    const ns = t.namespace_name;
    const name = t.task_name;
    const f = factsOf(ns, name, t.task_version);
    tasksOf(f?.critical === true, ns, name, t.task_version, status).inc();
    if (typeof t.execution_duration_seconds === 'number')
      taskDurationOf(ns, name, status).observe(t.execution_duration_seconds);
    if (f) taskSla.finished(f, t);
    const b = f?.business;
    if (!b?.valueField || !t.context) return;
    const value = Number(t.context[b.valueField]);
    if (!Number.isFinite(value) || value < 0) return;
    const tier = b.tierField ? tierOf(t.context[b.tierField]) : 'other';
    businessValueOf(ns, name, status, tier).inc(value);
    const impact = IMPACT[status];
    if (impact) revenueImpactOf(ns, name, impact).inc(value);
    // Counted as a loss when it failed; now it went through after all: net loss = loss − recovered.
    if (t.after_failure && status !== 'failed') revenueImpactOf(ns, name, 'recovered').inc(value);
  };

  const onEvent = (e: TaskerEvent<EventPayload>) => {
    const terminal = TERMINAL[e.name];
    if (terminal) return onTerminal(terminal, e.payload as TaskEventPayload);
    const s = e.payload as StepEventPayload;
    const ns = s.namespace_name;
    const name = s.task_name;
    const step = s.step_name;
    if (e.name === 'step.started') {
      if (typeof s.queue_wait_seconds === 'number') queueWaitOf(ns, name, step).observe(s.queue_wait_seconds);
      return;
    }
    const c = factsOf(ns, name, s.task_version)?.critical === true;
    if (e.name === 'step.timed_out') return void timeoutsOf(c, ns, name, step).inc();
    const status = STEP_END[e.name];
    if (!status) return;
    stepsOf(c, ns, name, step, status).inc();
    if (typeof s.execution_duration_seconds === 'number')
      stepDurationOf(ns, name, step, status).observe(s.execution_duration_seconds);
    if (e.name === 'step.retry_scheduled')
      retriesOf(c, ns, name, step, errorType(s.error_type ?? 'unknown')).inc();
  };
  const off = bus.subscribe(
    [...Object.keys(TERMINAL), ...Object.keys(STEP_END), 'step.started', 'step.timed_out'],
    onEvent,
    { name: 'prometheus-metrics', exact: true },
  );
  return {
    stepSlow: (namespace, name, step) => slow.inc({ namespace, name, step }),
    storeOperation: (operation, seconds, isSlow) => {
      storeOpOf(operation).observe(seconds);
      if (isSlow) storeSlow.inc({ operation });
    },
    subscriberError: (subscriber, event) =>
      subscriberErrors.inc({ subscriber: subscriberLabel(subscriber), event: eventLabel(event) }),
    eventWithheld: (event) => sampledOut.inc({ event: eventLabel(event) }),
    pushFailed: () => pushFailures.inc(),
    pruned: (byStatus, audit, at) => retention.pruned(byStatus, audit, at),
    detach: () => {
      off();
      // A closed Tasker leaves a shared registry as it found it (a new Tasker may count into it again).
      for (const m of o.registry.getMetricsAsArray())
        if (!before.has(m.name) && m.name.startsWith(`${p}_`)) o.registry.removeSingleMetric(m.name);
    },
  };
}
