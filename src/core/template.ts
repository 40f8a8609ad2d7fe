/**
 * The resolved task-template model: what a YAML file (ours or Tasker's field names) compiles to after
 * validation. Everything here is plain data so templates can also be built in code.
 */

export interface BackoffPolicy {
  /** Delay before the 2nd attempt, in seconds. @default 1 */
  baseSeconds: number;
  /** Growth factor per further attempt. @default 2 */
  multiplier: number;
  /** Cap on any single delay, in seconds. @default 300 */
  maxSeconds: number;
  /** Fraction of random spread, 0..1 (0.1 = ±10 %). @default 0.1 */
  jitter: number;
}

export interface RetryPolicy {
  /** False: the first failure is final. @default true */
  retryable: boolean;
  /** Total attempts including the first. @default 3 */
  maxAttempts: number;
  backoff: BackoffPolicy;
}

export interface StepTemplate {
  name: string;
  description?: string | undefined;
  handler: string;
  dependsOn: string[];
  retry: RetryPolicy;
  /** Attempt deadline; undefined means no timeout. */
  timeoutSeconds?: number | undefined;
  /** An attempt slower than this is reported slow (observability.step.slow); overrides the global threshold. */
  slaSeconds?: number | undefined;
  handlerConfig: Record<string, unknown>;
}

/** Context fields that carry business meaning (used by analytics and metrics). */
export interface BusinessFields {
  valueField?: string | undefined;
  tierField?: string | undefined;
  regionField?: string | undefined;
  customerField?: string | undefined;
}

import type { RetentionSpec } from './template-retention.js';

export interface TaskTemplate {
  namespace: string;
  name: string;
  version: string;
  description?: string | undefined;
  contextSchema?: Record<string, unknown> | undefined;
  steps: StepTemplate[];
  business?: BusinessFields | undefined;
  /**
   * The task's SLA: a task that is still unfinished, or finished, later than this after it was created is
   * over its SLA (tasker_task_sla_seconds, tasker_task_sla_breaches_total, the API's `sla` block).
   */
  slaSeconds?: number | undefined;
  /** A critical workflow: `critical="true"` on its task and step metrics, and its alerts page at critical. */
  critical?: boolean | undefined;
  /** Tasker's `monitoring.alert_on_failure`: kept and shown; the Prometheus rules decide what alerts. */
  alertOnFailure?: boolean | undefined;
  /** Tasker's `handler_config.business_metrics` (what to track): kept and shown. */
  businessMetrics?: Record<string, unknown> | undefined;
  /**
   * How long this template's finished tasks are kept, per class (`{completed: '1d', failed: '90d'}`, or
   * `never`); classes left out follow the configured `retention`.
   */
  retention?: RetentionSpec | undefined;
  /** The template's top-level `handler_config` as written (Tasker files), for handlers and for people. */
  handlerConfig?: Record<string, unknown> | undefined;
  /** Where the template came from (file path), for messages. */
  source?: string | undefined;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({
  baseSeconds: 1,
  multiplier: 2,
  maxSeconds: 300,
  jitter: 0.1,
});

export const DEFAULT_MAX_ATTEMPTS = 3;

/**
 * A template built in code, with what the YAML parser would have defaulted filled in (JavaScript callers
 * leave out `handlerConfig`, `dependsOn`, `retry` or parts of it). Returns a new object.
 */
export function withTemplateDefaults(t: TaskTemplate): TaskTemplate {
  const steps: unknown = (t as { steps?: unknown }).steps;
  return {
    ...t,
    steps: (Array.isArray(steps) ? (steps as Array<Partial<StepTemplate>>) : []).map((s) => {
      const retry: Partial<RetryPolicy> = s.retry ?? {};
      return {
        ...s,
        name: s.name ?? '',
        handler: s.handler ?? '',
        dependsOn: s.dependsOn ?? [],
        handlerConfig: s.handlerConfig ?? {},
        retry: {
          retryable: retry.retryable ?? true,
          maxAttempts: retry.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
          backoff: { ...DEFAULT_BACKOFF, ...retry.backoff },
        },
      };
    }),
  };
}

export function templateKey(t: Pick<TaskTemplate, 'namespace' | 'name' | 'version'>): string {
  return `${t.namespace}/${t.name}@${t.version}`;
}
