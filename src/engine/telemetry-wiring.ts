/**
 * Telemetry hung onto one engine: the store timed per operation, the redacting logger, the event bus with
 * its sampling, filtering and redacted views, the attempt observers (task/step spans, slow steps), the
 * event log, the memory watch, the Prometheus families and the Pushgateway. Built once by the composition
 * root; the worker and the facade receive the finished pieces, so nothing on the step path asks whether
 * telemetry is on.
 */
import type { Logger } from 'pino';
import { Registry, type RegistryContentType } from 'prom-client';
import { hostname } from 'node:os';
import type { ResolvedOptions } from '../config/options.js';
import { maskValues, Redactor, sensitiveValues } from '../core/redact.js';
import type { NormalizedFailure } from '../errors.js';
import { EventBus } from '../events/bus.js';
import { SAMPLEABLE_EVENTS, type TaskerEvent } from '../events/catalog.js';
import { packageInfo } from '../package-root.js';
import { composeObservers, type AttemptObserver } from '../runtime/attempt-observer.js';
import type { ClaimedStep, TaskStore } from '../store/port.js';
import { attachEventLog } from '../telemetry/event-log.js';
import { maskingLogger } from '../telemetry/masking-logger.js';
import { attachEngineMetrics, type EngineMetrics } from '../telemetry/metrics.js';
import { SlowStepMonitor, thresholdOf, watchMemory } from '../telemetry/performance.js';
import { startMetricsPush, type MetricsPusher } from '../telemetry/push.js';
import { timedStore } from '../telemetry/store-timing.js';
import { TaskTracing } from '../telemetry/tracing.js';
import type { TemplateRegistry } from '../templates/registry.js';
import type { PruneReport } from './pruner.js';

export interface EngineTelemetry {
  /** The store, every operation timed (telemetry.slow_query_threshold_seconds). */
  readonly store: TaskStore;
  /** The engine's logger: every line (a handler's ctx.log included) passes the redactor. */
  readonly logger: Logger;
  readonly redactor: Redactor;
  readonly metrics: Registry<RegistryContentType>;
  readonly events: EventBus;
  readonly tracing: TaskTracing | undefined;
  readonly observer: AttemptObserver | undefined;
  /** A handler's `ctx.log`: keys masked by the logger, the task's sensitive values in every argument. */
  readonly handlerLogger: (claimed: ClaimedStep, fields: Record<string, unknown>) => Logger;
  /** A failure message may echo the task's sensitive values (a handler interpolating them): masked. */
  readonly maskFailure: (claimed: ClaimedStep, failure: NormalizedFailure) => NormalizedFailure;
  /** Start counting into `metrics` (idempotent; a no-op with telemetry.metrics_enabled false). */
  enableMetrics(): void;
  /** A prune deleted what `report` says (tasker_pruned_tasks_total and its kin). */
  pruned(report: PruneReport): void;
  /** Detach every subscription, push the metrics one last time, unregister the families. */
  close(): Promise<void>;
}

export function wireTelemetry(
  rawStore: TaskStore,
  baseLogger: Logger,
  opts: ResolvedOptions,
  templates: TemplateRegistry,
): EngineTelemetry {
  const t = opts.telemetry;
  let engineMetrics: EngineMetrics | undefined;
  let pusher: MetricsPusher | undefined;
  const detachers: Array<() => void> = [];

  const slowAfter = t.slowQueryThresholdSeconds;
  const store = timedStore(rawStore, (operation, seconds) => {
    const slow = t.performanceMonitoring && seconds >= slowAfter;
    engineMetrics?.storeOperation(operation, seconds, slow);
    if (slow)
      baseLogger.warn(
        { operation, duration_ms: Math.round(seconds * 1000), threshold_ms: Math.round(slowAfter * 1000) },
        `slow store operation: ${operation} took ${Math.round(seconds * 1000)} ms`,
      );
  });
  const redactor = new Redactor(opts.filterParameters, opts.filterMask);
  const logger = baseLogger.child(
    {},
    {
      formatters: {
        log: (o) => redactor.redact(o),
        bindings: (b) => redactor.redact(b),
      },
    },
  );
  const metrics = t.registry ?? new Registry<RegistryContentType>();
  if (!t.registry && t.metricsFormat === 'openmetrics')
    metrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);

  /** What ordinary subscribers see: user data (context, results, custom payloads) redacted. */
  const redactEvent = (e: TaskerEvent): TaskerEvent => {
    const p = e.payload as unknown as Record<string, unknown>;
    if (p.context === undefined && p.results === undefined && p.payload === undefined) return e;
    return { name: e.name, payload: redactor.redact(e.payload) };
  };
  const events = new EventBus({
    onError: ({ subscriber, event, error, kind }) => {
      engineMetrics?.subscriberError(subscriber, event);
      logger.error(
        { subscriber, event, err: error, kind },
        `event subscriber ${kind === 'dropped' ? 'fell behind' : 'threw'}`,
      );
    },
    samplingRate: t.eventSamplingRate,
    sampleable: SAMPLEABLE_EVENTS,
    filtered: t.filteredEvents,
    onWithheld: (name) => engineMetrics?.eventWithheld(name),
    present: redactEvent,
  });

  const observers: AttemptObserver[] = [];
  let tracing: TaskTracing | undefined;
  if (t.tracing) {
    const spans = new TaskTracing(t.tracerProvider, packageInfo().version, t.traceSamplingRate);
    tracing = spans;
    observers.push(spans);
    detachers.push(
      events.subscribe([...TaskTracing.EVENTS], (e) => spans.onEvent(e), {
        name: 'otel-task-spans',
        exact: true,
      }),
      () => spans.flush(),
    );
  }
  if (t.performanceMonitoring) {
    observers.push(
      new SlowStepMonitor(events, {
        slowStepThresholdMs: t.slowStepThresholdMs,
        stepTemplate: (ns, name, version, step) =>
          templates.find(ns, name, version)?.steps.find((s) => s.name === step),
        onSlow: (ns, name, step) => engineMetrics?.stepSlow(ns, name, step),
      }),
    );
  }
  if (t.structuredLogging) detachers.push(attachEventLog(events, logger));
  if (t.performanceMonitoring) detachers.push(watchMemory(events, t.memoryThresholdBytes));

  const enableMetrics = (): void => {
    if (engineMetrics || !t.metrics) return;
    engineMetrics = attachEngineMetrics(events, {
      registry: metrics,
      prefix: t.metricPrefix,
      version: packageInfo().version,
      tierLabels: t.tierLabels,
      templateOf: (ns, name, version) => templates.find(ns, name, version),
      templates: () => templates.list(),
      readGauges: () => store.activeCounts(opts.now()),
      readStoreStats: () => store.storeStats(),
      steps: () =>
        templates.list().flatMap((tpl) =>
          tpl.steps.map((s) => ({
            namespace: tpl.namespace,
            name: tpl.name,
            version: tpl.version,
            step: s.name,
            slaSeconds: thresholdOf(s, t.slowStepThresholdMs).ms / 1000,
          })),
        ),
    });
  };
  // Counting costs every event being built: start when someone will read the counts.
  if (t.registry || t.push) enableMetrics();
  if (t.push && engineMetrics) {
    pusher = startMetricsPush(
      metrics,
      {
        endpoint: t.push.endpoint,
        job: t.metricPrefix,
        instance: t.push.includeInstanceLabels ? `${hostname()}:${process.pid}` : undefined,
        intervalMs: t.push.intervalMs,
        exportTimeoutMs: t.push.exportTimeoutMs,
        jobTimeoutMs: t.push.jobTimeoutMs,
        retryAttempts: t.push.retryAttempts,
      },
      logger,
      () => engineMetrics?.pushFailed(),
    );
  }

  return {
    store,
    logger,
    redactor,
    metrics,
    events,
    tracing,
    observer: composeObservers(observers),
    handlerLogger: (claimed, fields) =>
      maskingLogger(
        logger.child(fields),
        sensitiveValues(redactor, claimed.task.context),
        redactor.mask,
        (o) => redactor.redact(o),
      ),
    maskFailure: (claimed, failure) => {
      const values = sensitiveValues(redactor, claimed.task.context);
      if (values.length === 0) return failure;
      return { ...failure, message: maskValues(failure.message, values, redactor.mask) };
    },
    enableMetrics,
    pruned: (report) => {
      const byStatus = new Map<string, number>();
      for (const r of report.byTemplate) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + r.count);
      engineMetrics?.pruned(
        [...byStatus].map(([status, count]) => ({ status, count })),
        report.audit,
        opts.now(),
      );
    },
    close: async () => {
      for (const off of detachers) off();
      await pusher?.stop(); // the final push, while the metrics are still registered
      engineMetrics?.detach();
    },
  };
}
