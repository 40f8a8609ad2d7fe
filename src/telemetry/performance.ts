/**
 * Performance monitoring. A step attempt slower than its threshold emits observability.step.slow (and
 * counts in tasker_step_slow_total): measured where the attempt runs (an attempt observer), so no
 * per-step event has to be built for it. Resident memory above the limit emits observability.memory.high,
 * at most once a minute. A step's threshold: its template's `sla_seconds`, else
 * `handler_config.monitoring.sla_seconds`, else telemetry.slow_step_threshold_seconds.
 */
import { eventBase } from '../core/trace-context.js';
import type { StepTemplate } from '../core/template.js';
import type { EventBus } from '../events/bus.js';
import type { MemoryHighPayload, SlowStepPayload } from '../events/catalog.js';
import type { AttemptObserver, AttemptScope } from '../runtime/attempt-observer.js';
import type { ClaimedStep } from '../store/port.js';

export interface SlowStepOptions {
  slowStepThresholdMs: number;
  stepTemplate: (namespace: string, name: string, version: string, step: string) => StepTemplate | undefined;
  onSlow?: ((namespace: string, name: string, step: string) => void) | undefined;
}

/** A step's slow threshold and where it came from (also exported as tasker_step_sla_seconds). */
export function thresholdOf(
  step: StepTemplate | undefined,
  globalMs: number,
): { ms: number; source: string } {
  if (step?.slaSeconds !== undefined) return { ms: step.slaSeconds * 1000, source: 'sla_seconds' };
  const monitoring = step?.handlerConfig.monitoring;
  if (monitoring !== null && typeof monitoring === 'object' && !Array.isArray(monitoring)) {
    const v = (monitoring as Record<string, unknown>).sla_seconds;
    if (typeof v === 'number' && Number.isFinite(v) && v > 0)
      return { ms: v * 1000, source: 'handler_config.monitoring.sla_seconds' };
  }
  return { ms: globalMs, source: 'telemetry.slow_step_threshold_seconds' };
}

export class SlowStepMonitor implements AttemptObserver {
  private readonly thresholds = new Map<string, { ms: number; source: string }>();

  constructor(
    private readonly bus: EventBus,
    private readonly o: SlowStepOptions,
  ) {}

  start(claimed: ClaimedStep, startedAt: number): AttemptScope {
    return {
      spanId: undefined,
      logFields: {},
      run: (fn) => fn(),
      end: (_how, finishedAt, attemptSpanId) =>
        this.check(claimed, finishedAt - startedAt, finishedAt, attemptSpanId),
    };
  }

  private check(claimed: ClaimedStep, ms: number, at: number, attemptSpanId: string | undefined): void {
    const { task, step } = claimed;
    const key = `${task.namespace}\0${task.name}\0${task.version}\0${step.name}`;
    let t = this.thresholds.get(key);
    if (!t) {
      t = thresholdOf(
        this.o.stepTemplate(task.namespace, task.name, task.version, step.name),
        this.o.slowStepThresholdMs,
      );
      this.thresholds.set(key, t);
    }
    if (ms <= t.ms) return;
    this.o.onSlow?.(task.namespace, task.name, step.name);
    const payload: SlowStepPayload = {
      ...eventBase(task, 'observability.step.slow', at, attemptSpanId),
      step_name: step.name,
      attempt: step.attempts,
      execution_duration_seconds: ms / 1000,
      threshold_seconds: t.ms / 1000,
      threshold_source: t.source,
    };
    this.bus.publish([{ name: payload.event, payload }]);
  }
}

const MEMORY_EVENT_EVERY_MS = 60_000;

/** Checks resident memory every `everyMs`; returns the stop function. */
export function watchMemory(
  bus: EventBus,
  thresholdBytes: number,
  everyMs = 10_000,
  rss: () => number = () => process.memoryUsage.rss(),
): () => void {
  let lastEvent = -Infinity;
  const check = () => {
    const bytes = rss();
    const now = Date.now();
    if (bytes <= thresholdBytes || now - lastEvent < MEMORY_EVENT_EVERY_MS) return;
    lastEvent = now;
    const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
    const payload: MemoryHighPayload = {
      event: 'observability.memory.high',
      timestamp: new Date(now).toISOString(),
      rss_mb: mb(bytes),
      heap_used_mb: mb(process.memoryUsage().heapUsed),
      threshold_mb: mb(thresholdBytes),
    };
    bus.publish([{ name: payload.event, payload }]);
  };
  const timer = setInterval(check, everyMs);
  timer.unref();
  // The first check on the next turn: the engine's caller subscribes right after createTasker() returns.
  const first = setImmediate(check);
  first.unref();
  return () => {
    clearInterval(timer);
    clearImmediate(first);
  };
}
