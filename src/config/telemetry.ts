/**
 * The `telemetry` options (the seed's `config.telemetry` block), compiled once from the table in
 * telemetry-table.ts: defaults filled, every field checked with an error naming it in the config file's
 * spelling (`telemetry.event_sampling_rate`). Accepts camelCase (library) and snake_case (YAML) keys.
 */
import type { TracerProvider } from '@opentelemetry/api';
import type { Registry, RegistryContentType } from 'prom-client';
import { fail, hideCredentials } from './kinds.js';
import { checkTable, normaliseSection, type AssertNever, type Mismatched, type OptionsOf } from './spec.js';
import { PROMETHEUS_SETTINGS, TELEMETRY_SETTINGS, type LogFormat, type LogLevel } from './telemetry-table.js';

export {
  DEFAULT_METRICS_ENDPOINT,
  DEFAULT_TIER_LABELS,
  LOG_LEVELS,
  type LogFormat,
  type LogLevel,
} from './telemetry-table.js';

export interface PrometheusPushOptions {
  /** Base URL of a Pushgateway-compatible endpoint; pushing is off without it. */
  endpoint?: string | undefined;
  /** Longest one push may take, retries included (seconds). @default 300 */
  jobTimeout?: number | undefined;
  /** Longest one HTTP request may take (seconds). @default 120 */
  exportTimeout?: number | undefined;
  /** Retries after a failed push. @default 3 */
  retryAttempts?: number | undefined;
  /** Prefix of every metric name. @default 'tasker' */
  metricPrefix?: string | undefined;
  /** Group pushed metrics by `instance` (host:pid) as well as `job`. @default true */
  includeInstanceLabels?: boolean | undefined;
  /** How often to push (seconds). @default 15 */
  pushInterval?: number | undefined;
}

export interface TelemetryOptions {
  /** Log a JSON line for lifecycle events (task completed, step failed, …). @default true */
  structuredLoggingEnabled?: boolean | undefined;
  /** HTTP header read for a caller's correlation id (also echoed back). @default 'X-Correlation-ID' */
  correlationIdHeader?: string | undefined;
  /** For the logger the CLI creates: JSON lines, or human-readable. @default 'json' */
  logFormat?: LogFormat | undefined;
  /** For the logger the CLI creates. @default 'info' (CLI commands that print results: 'warn') */
  logLevel?: LogLevel | undefined;
  /** Tracing: spans for tasks and step attempts through @opentelemetry/api. @default false */
  enabled?: boolean | undefined;
  /**
   * Share of tasks traced, decided per task from its trace id (every span of a task, or none). Tasks
   * created under an incoming traceparent follow its sampled flag instead. @default OTEL_TRACES_SAMPLER_ARG
   * when OTEL_TRACES_SAMPLER is (parentbased_)traceidratio, else 1
   */
  traceSamplingRate?: number | undefined;
  /** Resource service.name of the tracer `tasker serve`/`worker` set up. @default OTEL_SERVICE_NAME or 'tasker' */
  serviceName?: string | undefined;
  /** Resource service.version. @default the package version */
  serviceVersion?: string | undefined;
  /** Count Prometheus metrics. @default true */
  metricsEnabled?: boolean | undefined;
  /** Path the metrics are served at by `tasker serve`. @default '/tasker/metrics' */
  metricsEndpoint?: string | undefined;
  /** `prometheus` (text 0.0.4) or `openmetrics`. @default 'prometheus' */
  metricsFormat?: 'prometheus' | 'openmetrics' | undefined;
  /** Slow-step and memory checks. @default true */
  performanceMonitoringEnabled?: boolean | undefined;
  /** A step attempt slower than this is slow, unless its template says otherwise. @default 10 */
  slowStepThresholdSeconds?: number | undefined;
  /**
   * A store (database) operation slower than this is logged at warn with its name and time and counted in
   * tasker_store_slow_queries_total{operation}; every operation's time is a histogram. @default 1
   */
  slowQueryThresholdSeconds?: number | undefined;
  /** Resident memory above this emits observability.memory.high (at most once a minute). @default 1024 */
  memoryThresholdMb?: number | undefined;
  /** Overrides the top-level filterParameters when given. */
  filterParameters?: string[] | undefined;
  /** Overrides the top-level filterMask when given. */
  filterMask?: string | undefined;
  /**
   * Share of tasks whose high-volume events (task.created/started, step.started/completed) reach subscribers
   * and logs; failures, retries, timeouts and terminal task events always do. Metrics are exact whatever
   * the rate. @default 1
   */
  eventSamplingRate?: number | undefined;
  /** Event names (or patterns like `step.*`) never delivered to subscribers or logs. @default [] */
  filteredEvents?: string[] | undefined;
  /** Allowed values of the `tier` metric label; any other tier is counted as `other`. */
  tierLabels?: string[] | undefined;
  /** Push metrics to a Pushgateway. */
  prometheus?: PrometheusPushOptions | undefined;
  /** Library only: the Prometheus registry to count into (e.g. the host's). @default a registry of its own */
  registry?: Registry<RegistryContentType> | undefined;
  /** Library only: the TracerProvider to use. @default the globally registered one (the host's) */
  tracerProvider?: TracerProvider | undefined;
}

export interface ResolvedTelemetry {
  structuredLogging: boolean;
  correlationIdHeader: string;
  logFormat: LogFormat;
  logLevel: LogLevel | undefined;
  tracing: boolean;
  traceSamplingRate: number;
  serviceName: string | undefined;
  serviceVersion: string | undefined;
  metrics: boolean;
  metricsEndpoint: string;
  metricsFormat: 'prometheus' | 'openmetrics';
  performanceMonitoring: boolean;
  slowStepThresholdMs: number;
  /** A store operation slower than this is logged at warn and counted (Tasker's meaning). */
  slowQueryThresholdSeconds: number;
  memoryThresholdBytes: number;
  filterParameters: readonly string[] | undefined;
  filterMask: string | undefined;
  eventSamplingRate: number;
  filteredEvents: readonly string[];
  tierLabels: readonly string[];
  metricPrefix: string;
  push:
    | {
        endpoint: string;
        jobTimeoutMs: number;
        exportTimeoutMs: number;
        retryAttempts: number;
        includeInstanceLabels: boolean;
        intervalMs: number;
      }
    | undefined;
  registry: Registry<RegistryContentType> | undefined;
  tracerProvider: TracerProvider | undefined;
}

// The public interfaces keep their docs for editors; these make a key on one side only a compile error.
type TableOptions = OptionsOf<typeof TELEMETRY_SETTINGS>;
type PushTableOptions = OptionsOf<typeof PROMETHEUS_SETTINGS>;
export type _TelemetryTableMatches = [
  AssertNever<Exclude<keyof TelemetryOptions, keyof TableOptions>>,
  AssertNever<Exclude<keyof TableOptions, keyof TelemetryOptions>>,
  AssertNever<Mismatched<TableOptions, TelemetryOptions>>,
  AssertNever<Exclude<keyof PrometheusPushOptions, keyof PushTableOptions>>,
  AssertNever<Exclude<keyof PushTableOptions, keyof PrometheusPushOptions>>,
  AssertNever<Mismatched<PushTableOptions, PrometheusPushOptions>>,
];

/** How a telemetry field is named in errors, from its file-spelling path ('' is the section itself). */
export type FieldNamer = (path: string) => string;
const libraryNames: FieldNamer = (p) => (p ? `telemetry.${p}` : 'telemetry');

export function compileTelemetry(raw: unknown, name: FieldNamer = libraryNames): ResolvedTelemetry {
  const o = normaliseSection(raw, name(''), TELEMETRY_SETTINGS);
  const p = normaliseSection(o.prometheus, name('prometheus'), PROMETHEUS_SETTINGS);
  const t = checkTable(
    TELEMETRY_SETTINGS,
    (e) => o[e.file],
    (e) => name(e.file),
  );
  // Checked whether or not an endpoint is set: a bad value must not wait for the day pushing is turned on.
  const push = checkTable(
    PROMETHEUS_SETTINGS,
    (e) => p[e.file],
    (e) => name(`prometheus.${e.file}`),
  );
  if (push.endpoint !== undefined && !t.metricsEnabled)
    fail(
      name('prometheus.endpoint'),
      'no endpoint while telemetry.metrics_enabled is false (there would be nothing to push)',
      hideCredentials(push.endpoint),
    );
  if (push.endpoint !== undefined && t.metricsFormat === 'openmetrics')
    fail(
      name('metrics_format'),
      '"prometheus" when pushing (a Pushgateway does not accept OpenMetrics)',
      t.metricsFormat,
    );
  return {
    structuredLogging: t.structuredLoggingEnabled,
    correlationIdHeader: t.correlationIdHeader,
    logFormat: t.logFormat,
    logLevel: t.logLevel,
    tracing: t.enabled,
    traceSamplingRate: t.traceSamplingRate,
    serviceName: t.serviceName,
    serviceVersion: t.serviceVersion,
    metrics: t.metricsEnabled,
    metricsEndpoint: t.metricsEndpoint,
    metricsFormat: t.metricsFormat,
    performanceMonitoring: t.performanceMonitoringEnabled,
    slowStepThresholdMs: Math.round(t.slowStepThresholdSeconds * 1000),
    slowQueryThresholdSeconds: t.slowQueryThresholdSeconds,
    memoryThresholdBytes: t.memoryThresholdMb * 1024 * 1024,
    filterParameters: t.filterParameters,
    filterMask: t.filterMask,
    eventSamplingRate: t.eventSamplingRate,
    filteredEvents: t.filteredEvents,
    tierLabels: t.tierLabels.map((l) => l.toLowerCase()),
    metricPrefix: push.metricPrefix,
    push:
      push.endpoint === undefined
        ? undefined
        : {
            endpoint: push.endpoint,
            jobTimeoutMs: push.jobTimeout * 1000,
            exportTimeoutMs: push.exportTimeout * 1000,
            retryAttempts: Math.trunc(push.retryAttempts),
            includeInstanceLabels: push.includeInstanceLabels,
            intervalMs: push.pushInterval * 1000,
          },
    registry: t.registry as Registry<RegistryContentType> | undefined,
    tracerProvider: t.tracerProvider as TracerProvider | undefined,
  };
}
