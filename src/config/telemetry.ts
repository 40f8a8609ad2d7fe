/**
 * The `telemetry` options (the seed's `config.telemetry` block), compiled once: defaults filled, every
 * field checked with an error naming it (`telemetry.event_sampling_rate`, in the config file's spelling).
 * Accepts camelCase (library) and snake_case (YAML) keys.
 */
import type { TracerProvider } from '@opentelemetry/api';
import type { Registry, RegistryContentType } from 'prom-client';
import { TaskerError } from '../errors.js';
import { suggest } from '../core/suggest.js';

export type LogFormat = 'json' | 'pretty';
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where metrics are served unless configured: under the API, wherever it is mounted. */
export const DEFAULT_METRICS_ENDPOINT = '/tasker/metrics';

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

export const DEFAULT_TIER_LABELS: readonly string[] = Object.freeze([
  'premium',
  'enterprise',
  'gold',
  'standard',
  'basic',
  'free',
]);

const TELEMETRY_KEYS = [
  'structured_logging_enabled',
  'correlation_id_header',
  'log_format',
  'log_level',
  'enabled',
  'trace_sampling_rate',
  'service_name',
  'service_version',
  'metrics_enabled',
  'metrics_endpoint',
  'metrics_format',
  'performance_monitoring_enabled',
  'slow_step_threshold_seconds',
  'slow_query_threshold_seconds',
  'memory_threshold_mb',
  'filter_parameters',
  'filter_mask',
  'event_sampling_rate',
  'filtered_events',
  'tier_labels',
  'prometheus',
  'registry',
  'tracer_provider',
] as const;
const PROMETHEUS_KEYS = [
  'endpoint',
  'job_timeout',
  'export_timeout',
  'retry_attempts',
  'metric_prefix',
  'include_instance_labels',
  'push_interval',
] as const;

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** snake_case view of an object given in either spelling; unknown keys are refused with a suggestion. */
function normalise(raw: unknown, where: string, known: readonly string[]): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TaskerError(
      'CONFIG_INVALID',
      `${where}: expected a mapping of settings, got ${JSON.stringify(raw)}`,
      {
        field: where,
      },
    );
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const key = snake(k);
    if (!known.includes(key)) {
      // A typo, or a part of longer names (sampling_rate: event_sampling_rate or trace_sampling_rate).
      const typo = suggest(key, known);
      const partOf = known.filter((x) => x.endsWith(key) || x.startsWith(key));
      const hints = typo ? [typo] : partOf;
      const hint = hints.length ? ` (did you mean ${hints.map((h) => `"${h}"`).join(' or ')}?)` : '';
      throw new TaskerError(
        'CONFIG_INVALID',
        `${where}.${k}: unknown setting${hint}; known: ${known.join(', ')}`,
        { field: `${where}.${k}` },
      );
    }
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function fail(field: string, expected: string, value: unknown): never {
  throw new TaskerError('CONFIG_INVALID', `${field}: expected ${expected}, got ${JSON.stringify(value)}`, {
    field,
    value,
  });
}

function bool(o: Record<string, unknown>, k: string, where: string, dflt: boolean): boolean {
  const v = o[k];
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') fail(`${where}.${k}`, 'true or false', v);
  return v;
}

function num(
  o: Record<string, unknown>,
  k: string,
  where: string,
  dflt: number,
  min: number,
  max: number,
): number {
  const v = o[k];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    fail(`${where}.${k}`, `a number from ${min} to ${max}`, v);
  return v;
}

function str(o: Record<string, unknown>, k: string, where: string): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '') fail(`${where}.${k}`, 'a non-empty string', v);
  return v;
}

function oneOf<T extends string>(
  o: Record<string, unknown>,
  k: string,
  where: string,
  allowed: readonly T[],
): T | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    fail(`${where}.${k}`, `one of ${allowed.join(', ')}`, v);
  return v as T;
}

function list(o: Record<string, unknown>, k: string, where: string): string[] | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.trim() === ''))
    fail(`${where}.${k}`, 'a list of non-empty strings', v);
  return v as string[];
}

const METRIC_PREFIX = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The OpenTelemetry spec's sampler variables, as far as they apply to whole tasks. */
function samplerRatioFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const sampler = (env.OTEL_TRACES_SAMPLER ?? '').trim().toLowerCase();
  if (sampler === 'always_off' || sampler === 'parentbased_always_off') return 0;
  if (sampler !== 'traceidratio' && sampler !== 'parentbased_traceidratio') return 1;
  const arg = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
  return Number.isFinite(arg) && arg >= 0 && arg <= 1 ? arg : 1;
}

export function compileTelemetry(raw: unknown, where = 'telemetry'): ResolvedTelemetry {
  const o = normalise(raw, where, TELEMETRY_KEYS);
  const p = normalise(o.prometheus, `${where}.prometheus`, PROMETHEUS_KEYS);
  const pw = `${where}.prometheus`;
  const header = str(o, 'correlation_id_header', where) ?? 'X-Correlation-ID';
  if (!HEADER_NAME.test(header)) fail(`${where}.correlation_id_header`, 'an HTTP header name', header);
  const endpoint = str(o, 'metrics_endpoint', where) ?? DEFAULT_METRICS_ENDPOINT;
  if (!endpoint.startsWith('/') || /[?#\s]/.test(endpoint))
    fail(`${where}.metrics_endpoint`, 'a URL path starting with "/"', endpoint);
  const prefix = str(p, 'metric_prefix', pw) ?? 'tasker';
  if (!METRIC_PREFIX.test(prefix))
    fail(`${pw}.metric_prefix`, 'a Prometheus name ([a-zA-Z_][a-zA-Z0-9_]*)', prefix);
  const pushUrl = str(p, 'endpoint', pw);
  if (pushUrl !== undefined && (!/^https?:\/\/[^/\s]+/.test(pushUrl) || !URL.canParse(pushUrl)))
    fail(`${pw}.endpoint`, 'an http:// or https:// URL', pushUrl.replace(/\/\/[^@/]*@/, '//***@'));
  const registry = o.registry;
  if (
    registry !== undefined &&
    (typeof registry !== 'object' || registry === null || !('metrics' in registry))
  )
    fail(`${where}.registry`, 'a prom-client Registry', '[object]');
  const provider = o.tracer_provider;
  if (
    provider !== undefined &&
    (typeof provider !== 'object' || provider === null || !('getTracer' in provider))
  )
    fail(`${where}.tracer_provider`, 'an OpenTelemetry TracerProvider', '[object]');
  const filteredEvents = list(o, 'filtered_events', where) ?? [];
  // Checked whether or not an endpoint is set: a bad value must not wait for the day pushing is turned on.
  const pushSettings = {
    jobTimeoutMs: num(p, 'job_timeout', pw, 300, 0.1, 86_400) * 1000,
    exportTimeoutMs: num(p, 'export_timeout', pw, 120, 0.1, 86_400) * 1000,
    retryAttempts: Math.trunc(num(p, 'retry_attempts', pw, 3, 0, 100)),
    includeInstanceLabels: bool(p, 'include_instance_labels', pw, true),
    intervalMs: num(p, 'push_interval', pw, 15, 0.1, 86_400) * 1000,
  };
  const metrics = bool(o, 'metrics_enabled', where, true);
  const metricsFormat =
    oneOf(o, 'metrics_format', where, ['prometheus', 'openmetrics'] as const) ?? 'prometheus';
  if (pushUrl !== undefined && !metrics)
    fail(
      `${pw}.endpoint`,
      'no endpoint while telemetry.metrics_enabled is false (there would be nothing to push)',
      pushUrl.replace(/\/\/[^@/]*@/, '//***@'),
    );
  if (pushUrl !== undefined && metricsFormat === 'openmetrics')
    fail(
      `${where}.metrics_format`,
      '"prometheus" when pushing (a Pushgateway does not accept OpenMetrics)',
      metricsFormat,
    );
  return {
    structuredLogging: bool(o, 'structured_logging_enabled', where, true),
    correlationIdHeader: header,
    logFormat: oneOf(o, 'log_format', where, ['json', 'pretty'] as const) ?? 'json',
    logLevel: oneOf(o, 'log_level', where, LOG_LEVELS),
    tracing: bool(o, 'enabled', where, false),
    traceSamplingRate: num(o, 'trace_sampling_rate', where, samplerRatioFromEnv(), 0, 1),
    serviceName: str(o, 'service_name', where),
    serviceVersion: str(o, 'service_version', where),
    metrics,
    metricsEndpoint: endpoint,
    metricsFormat,
    performanceMonitoring: bool(o, 'performance_monitoring_enabled', where, true),
    slowStepThresholdMs: Math.round(num(o, 'slow_step_threshold_seconds', where, 10, 0.001, 86_400) * 1000),
    slowQueryThresholdSeconds: num(o, 'slow_query_threshold_seconds', where, 1, 0.000001, 3600),
    memoryThresholdBytes: num(o, 'memory_threshold_mb', where, 1024, 1, 1_048_576) * 1024 * 1024,
    filterParameters: list(o, 'filter_parameters', where),
    filterMask: str(o, 'filter_mask', where),
    eventSamplingRate: num(o, 'event_sampling_rate', where, 1, 0, 1),
    filteredEvents,
    tierLabels: (list(o, 'tier_labels', where) ?? DEFAULT_TIER_LABELS).map((t) => t.toLowerCase()),
    metricPrefix: prefix,
    push: pushUrl === undefined ? undefined : { endpoint: pushUrl, ...pushSettings },
    registry: registry as Registry<RegistryContentType> | undefined,
    tracerProvider: provider as TracerProvider | undefined,
  };
}
