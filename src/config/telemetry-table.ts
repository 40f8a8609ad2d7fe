/**
 * The `telemetry:` section's settings (the seed's `config.telemetry` block) and its `prometheus:`
 * subsection: names, kinds, defaults, bounds and docs. The telemetry compiler, the readers and
 * docs/configuration.md are derived from these tables.
 */
import type { SettingSpec } from './spec.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'json' | 'pretty';

/** Where metrics are served unless configured: under the API, wherever it is mounted. */
export const DEFAULT_METRICS_ENDPOINT = '/tasker/metrics';

export const DEFAULT_TIER_LABELS: readonly string[] = Object.freeze([
  'premium',
  'enterprise',
  'gold',
  'standard',
  'basic',
  'free',
]);

/** The OpenTelemetry spec's sampler variables, as far as they apply to whole tasks. */
export function samplerRatioFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const sampler = (env.OTEL_TRACES_SAMPLER ?? '').trim().toLowerCase();
  if (sampler === 'always_off' || sampler === 'parentbased_always_off') return 0;
  if (sampler !== 'traceidratio' && sampler !== 'parentbased_traceidratio') return 1;
  const arg = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
  return Number.isFinite(arg) && arg >= 0 && arg <= 1 ? arg : 1;
}

const seconds = (min: number, max: number) => ({ type: 'number', min, max }) as const;

export const PROMETHEUS_SETTINGS = [
  {
    key: 'endpoint',
    file: 'endpoint',
    kind: { type: 'url' },
    defaultDoc: 'none (pushing off)',
    doc: 'Base URL of a Pushgateway-compatible endpoint.',
  },
  {
    key: 'jobTimeout',
    file: 'job_timeout',
    kind: seconds(0.1, 86_400),
    default: 300,
    doc: 'Longest one push may take, retries included (seconds).',
  },
  {
    key: 'exportTimeout',
    file: 'export_timeout',
    kind: seconds(0.1, 86_400),
    default: 120,
    doc: 'Longest one HTTP request may take (seconds).',
  },
  {
    key: 'retryAttempts',
    file: 'retry_attempts',
    kind: { type: 'number', min: 0, max: 100 },
    default: 3,
    doc: 'Retries after a failed push.',
  },
  {
    key: 'metricPrefix',
    file: 'metric_prefix',
    kind: {
      type: 'string',
      pattern: /^[a-zA-Z_][a-zA-Z0-9_]*$/,
      expected: 'a Prometheus name ([a-zA-Z_][a-zA-Z0-9_]*)',
    },
    default: 'tasker',
    doc: 'Prefix of every metric name.',
  },
  {
    key: 'includeInstanceLabels',
    file: 'include_instance_labels',
    kind: { type: 'bool' },
    default: true,
    doc: 'Group pushed metrics by `instance` (host:pid) as well as `job`.',
  },
  {
    key: 'pushInterval',
    file: 'push_interval',
    kind: seconds(0.1, 86_400),
    default: 15,
    doc: 'How often to push (seconds).',
  },
] as const satisfies readonly SettingSpec[];

export const TELEMETRY_SETTINGS = [
  {
    key: 'structuredLoggingEnabled',
    file: 'structured_logging_enabled',
    kind: { type: 'bool' },
    default: true,
    doc: 'Log a JSON line for lifecycle events (task completed, step failed, …).',
  },
  {
    key: 'correlationIdHeader',
    file: 'correlation_id_header',
    kind: { type: 'string', pattern: /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, expected: 'an HTTP header name' },
    default: 'X-Correlation-ID',
    doc: "HTTP header read for a caller's correlation id (also echoed back).",
  },
  {
    key: 'logFormat',
    file: 'log_format',
    env: ['TASKER_LOG_FORMAT'],
    kind: { type: 'enum', values: ['json', 'pretty'] },
    default: 'json',
    doc: 'For the logger the CLI creates: JSON lines, or human-readable.',
  },
  {
    key: 'logLevel',
    file: 'log_level',
    kind: { type: 'enum', values: LOG_LEVELS },
    defaultDoc: "top-level log_level, else 'info' (CLI commands that print results: 'warn')",
    doc: 'For the logger the CLI creates.',
  },
  {
    key: 'enabled',
    file: 'enabled',
    kind: { type: 'bool' },
    default: false,
    doc: 'Tracing: spans for tasks and step attempts through @opentelemetry/api.',
  },
  {
    key: 'traceSamplingRate',
    file: 'trace_sampling_rate',
    kind: { type: 'number', min: 0, max: 1 },
    default: () => samplerRatioFromEnv(),
    defaultDoc: 'OTEL_TRACES_SAMPLER_ARG when OTEL_TRACES_SAMPLER is (parentbased_)traceidratio, else 1',
    doc: 'Share of tasks traced, decided per task from its trace id; an incoming traceparent decides instead.',
  },
  {
    key: 'serviceName',
    file: 'service_name',
    kind: { type: 'string' },
    defaultDoc: "OTEL_SERVICE_NAME or 'tasker'",
    doc: 'Resource service.name of the tracer `tasker serve`/`worker` set up.',
  },
  {
    key: 'serviceVersion',
    file: 'service_version',
    kind: { type: 'string' },
    defaultDoc: 'the package version',
    doc: 'Resource service.version.',
  },
  {
    key: 'metricsEnabled',
    file: 'metrics_enabled',
    kind: { type: 'bool' },
    default: true,
    doc: 'Count Prometheus metrics.',
  },
  {
    key: 'metricsEndpoint',
    file: 'metrics_endpoint',
    kind: { type: 'string', pattern: /^\/[^?#\s]*$/, expected: 'a URL path starting with "/"' },
    default: DEFAULT_METRICS_ENDPOINT,
    doc: 'Path the metrics are served at by `tasker serve`.',
  },
  {
    key: 'metricsFormat',
    file: 'metrics_format',
    kind: { type: 'enum', values: ['prometheus', 'openmetrics'] },
    default: 'prometheus',
    doc: '`prometheus` (text 0.0.4) or `openmetrics`.',
  },
  {
    key: 'performanceMonitoringEnabled',
    file: 'performance_monitoring_enabled',
    kind: { type: 'bool' },
    default: true,
    doc: 'Slow-step and memory checks.',
  },
  {
    key: 'slowStepThresholdSeconds',
    file: 'slow_step_threshold_seconds',
    kind: seconds(0.001, 86_400),
    default: 10,
    doc: 'A step attempt slower than this is slow, unless its template says otherwise.',
  },
  {
    key: 'slowQueryThresholdSeconds',
    file: 'slow_query_threshold_seconds',
    kind: seconds(0.000001, 3600),
    default: 1,
    doc: 'A store operation slower than this is logged at warn and counted in tasker_store_slow_queries_total.',
  },
  {
    key: 'memoryThresholdMb',
    file: 'memory_threshold_mb',
    kind: { type: 'number', min: 1, max: 1_048_576 },
    default: 1024,
    doc: 'Resident memory above this emits observability.memory.high (at most once a minute).',
  },
  {
    key: 'filterParameters',
    file: 'filter_parameters',
    kind: { type: 'list' },
    defaultDoc: 'the top-level filter_parameters',
    doc: 'Overrides the top-level filter_parameters when given.',
  },
  {
    key: 'filterMask',
    file: 'filter_mask',
    kind: { type: 'string' },
    defaultDoc: 'the top-level filter_mask',
    doc: 'Overrides the top-level filter_mask when given.',
  },
  {
    key: 'eventSamplingRate',
    file: 'event_sampling_rate',
    kind: { type: 'number', min: 0, max: 1 },
    default: 1,
    doc: 'Share of tasks whose high-volume events reach subscribers and logs; failures and terminal events always do.',
  },
  {
    key: 'filteredEvents',
    file: 'filtered_events',
    kind: { type: 'list' },
    default: [],
    defaultDoc: 'none',
    doc: 'Event names (or patterns like `step.*`) never delivered to subscribers or logs.',
  },
  {
    key: 'tierLabels',
    file: 'tier_labels',
    kind: { type: 'list' },
    default: DEFAULT_TIER_LABELS,
    doc: 'Allowed values of the `tier` metric label; any other tier is counted as `other`.',
  },
  {
    key: 'prometheus',
    file: 'prometheus',
    kind: { type: 'section' },
    defaultDoc: 'see below',
    doc: 'Push metrics to a Pushgateway (the `telemetry.prometheus` table).',
  },
  {
    key: 'registry',
    file: 'registry',
    only: 'library',
    kind: { type: 'object', has: 'metrics', expected: 'a prom-client Registry' },
    defaultDoc: 'a registry of its own',
    doc: "The Prometheus registry to count into (e.g. the host's).",
  },
  {
    key: 'tracerProvider',
    file: 'tracer_provider',
    only: 'library',
    kind: { type: 'object', has: 'getTracer', expected: 'an OpenTelemetry TracerProvider' },
    defaultDoc: "the globally registered one (the host's)",
    doc: 'The TracerProvider to use.',
  },
] as const satisfies readonly SettingSpec[];
