/**
 * One OpenTelemetry trace per task, through @opentelemetry/api only: the engine uses the TracerProvider it
 * is given or the host's global one, and never registers or replaces one (`tasker serve`/`worker` set up
 * the SDK in telemetry/sdk.ts before the engine starts).
 *
 * - A span `step <name>` per attempt, started and ended by the process running it, child of the task
 *   span. Its context is current while the handler runs, so instrumented calls join the trace.
 * - A span `task <namespace>.<name>` from creation to the terminal state, emitted by the process that
 *   commits that state, with the id the steps named as parent (see forced-ids.ts) and, when the task was
 *   created under a traceparent, that span as its parent.
 * Ids come from the task (core/trace-context.ts), so any process, after any crash, joins the same trace.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  context,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { ENGINE_ERROR_TYPES } from '../core/outcomes.js';
import { formatTraceparent, taskTraceContext, type TaskTraceContext } from '../core/trace-context.js';
import type { StepEventPayload, TaskEventPayload, TaskerEvent } from '../events/catalog.js';
import { TASK_TERMINAL_EVENTS } from '../events/catalog.js';
import type { AttemptEnd, AttemptObserver, AttemptScope } from '../runtime/attempt-observer.js';
import type { ClaimedStep } from '../store/port.js';
import { withForcedIds } from './forced-ids.js';
import { endLiveSpan, spanOutletOf, type SpanOutlet, type SpanRecord } from './span-record.js';

function remoteParent(traceId: string, spanId: string, sampled: boolean): Context {
  return trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: sampled ? 1 : 0, isRemote: true });
}

/** A task not traced: no span, but its log lines still carry the trace id. */
const UNSAMPLED = (tc: TaskTraceContext): AttemptScope => ({
  spanId: undefined,
  logFields: { trace_id: tc.traceId, span_id: tc.spanId },
  run: (fn) => fn(),
  end: () => {},
});

/** The planner's decisions on a failed attempt: what its span waits for before it ends. */
const FAILED_ATTEMPT_EVENTS = ['step.retry_scheduled', 'step.failed', 'step.cancelled'] as const;
/**
 * A failed attempt whose outcome never commits (its lease was recovered elsewhere, the process is closing)
 * ends its span without a decision after this long, so no span is held forever.
 */
const DECISION_WAIT_MS = 30_000;
/** Template steps whose shared span attributes are kept (see stepShared). */
const SHARED_CACHE = 10_000;

interface AwaitingDecision {
  /** Ends the span, with the retry the planner scheduled when there is one. */
  finish(retry: StepEventPayload | undefined): void;
  timer: NodeJS.Timeout;
}

export class TaskTracing implements AttemptObserver {
  /** The events the tracing reads (exactly: unsampled, unredacted), each passed to onEvent. */
  static readonly EVENTS: readonly string[] = [...TASK_TERMINAL_EVENTS, ...FAILED_ATTEMPT_EVENTS];
  private tracerCache: Tracer | undefined;
  private outletCache: SpanOutlet | null | undefined;
  private readonly sharedCache = new Map<string, { name: string; shared: Attributes }>();
  /** Failed attempts' spans, by task, step and attempt, until the planner's decision on them commits. */
  private readonly awaiting = new Map<string, AwaitingDecision>();
  /** Whether the provider's id generator honours forced ids (probed once). */
  private forcing: boolean | undefined;

  constructor(
    private readonly provider: TracerProvider | undefined,
    private readonly version: string,
    /** Share of root tasks traced (trace_sampling_rate). */
    private readonly rate = 1,
  ) {}

  /** Every span of a task, or none: the decision is a function of the trace id (same in every process). */
  private sampled(tc: TaskTraceContext): boolean {
    if (!tc.sampled) return false;
    if (this.rate >= 1 || tc.parentSpanId !== null) return true;
    return parseInt(tc.traceId.slice(-8), 16) / 0x100000000 < this.rate;
  }

  /** Resolved on first use, so a provider the host registers after creating the engine is still used. */
  private get tracer(): Tracer {
    return (this.tracerCache ??= (this.provider ?? trace.getTracerProvider()).getTracer(
      'tasker-engine',
      this.version,
    ));
  }

  /**
   * Where finished spans go when the provider has an outlet (span-record.ts); null: live spans through
   * the API. Resolved on first use, like the tracer.
   */
  private get outlet(): SpanOutlet | undefined {
    if (this.outletCache === undefined)
      this.outletCache = spanOutletOf(this.provider ?? trace.getTracerProvider()) ?? null;
    return this.outletCache ?? undefined;
  }

  start(claimed: ClaimedStep, startedAt: number): AttemptScope {
    const { task, step } = claimed;
    const tc = taskTraceContext(task.id, task.traceparent);
    if (!this.sampled(tc)) return UNSAMPLED(tc);
    const { name, shared } = this.stepShared(claimed);
    // The task's other attributes are on its span: each attribute costs every step span.
    const own: Attributes = { 'tasker.task.id': task.id, 'tasker.step.attempt': step.attempts };
    const outlet = this.outlet;
    let spanId: string | undefined;
    let active: Context;
    let live: Span | undefined;
    if (outlet) {
      // No span object while the handler runs: the span context alone (a handler's own spans parent to
      // it; the task span's id is the record's parent), and the span built when the attempt settles.
      spanId = outlet.newSpanId();
      active = trace.setSpan(
        ROOT_CONTEXT,
        trace.wrapSpanContext({ traceId: tc.traceId, spanId, traceFlags: 1 }),
      );
    } else {
      const parent = remoteParent(tc.traceId, tc.spanId, tc.sampled);
      live = this.tracer.startSpan(
        name,
        { kind: SpanKind.INTERNAL, startTime: startedAt, attributes: { ...shared, ...own } },
        parent,
      );
      spanId = live.isRecording() ? live.spanContext().spanId : undefined;
      active = trace.setSpan(parent, live);
    }
    const finish = (r: SpanRecord) => (live ? endLiveSpan(live, r) : outlet?.emit(r));
    return {
      spanId,
      logFields: { trace_id: tc.traceId, span_id: spanId ?? tc.spanId },
      run: (fn) => context.with(active, fn),
      end: (how: AttemptEnd, finishedAt: number) => {
        const r: SpanRecord = {
          name,
          traceId: tc.traceId,
          spanId: spanId ?? '',
          parentSpanId: tc.spanId,
          start: startedAt,
          end: finishedAt,
          shared,
          attributes: own,
        };
        if (how.kind === 'success') return finish(r);
        const f = how.failure;
        r.error = { type: f.errorType, message: f.message, exception: true };
        r.events = [];
        if (f.errorType === ENGINE_ERROR_TYPES.timeout)
          r.events.push({
            name: 'tasker.step.timeout',
            at: finishedAt,
            attributes: { 'tasker.step.attempt': step.attempts },
          });
        // Whether it is retried is the planner's decision, known when the outcome commits (onEvent).
        const key = attemptKey(task.id, step.name, step.attempts);
        const timer = setTimeout(() => this.decided(key), DECISION_WAIT_MS).unref();
        this.awaiting.set(key, {
          timer,
          finish: (retry) => {
            if (retry)
              r.events?.push({
                name: 'tasker.step.retry_scheduled',
                at: finishedAt,
                attributes: retryAttributes(retry),
              });
            finish(r);
          },
        });
      },
    };
  }

  /**
   * A step span's name and the attributes every attempt of that step shares, one object per template
   * step (an outlet encodes it once); the cache is bounded, a template set far beyond it just misses.
   */
  private stepShared(c: ClaimedStep): { name: string; shared: Attributes } {
    const { task, step } = c;
    const k = `${task.namespace}\u0000${task.name}\u0000${step.name}\u0000${step.handler}\u0000${step.attemptLimit}`;
    let got = this.sharedCache.get(k);
    if (!got) {
      got = {
        name: `step ${step.name}`,
        shared: {
          'tasker.namespace': task.namespace,
          'tasker.task.name': task.name,
          'tasker.step.name': step.name,
          'tasker.step.handler': step.handler,
          'tasker.step.max_attempts': step.attemptLimit,
        },
      };
      if (this.sharedCache.size < SHARED_CACHE) this.sharedCache.set(k, got);
    }
    return got;
  }

  /** The active span's context as a traceparent (a task created inside a traced request joins it). */
  activeTraceparent(): string | null {
    const sc = trace.getSpanContext(context.active());
    if (!sc || !trace.isSpanContextValid(sc)) return null;
    return formatTraceparent({ traceId: sc.traceId, spanId: sc.spanId, flags: sc.traceFlags });
  }

  /** Every event of EVENTS, as committed (whatever the event sampling). */
  onEvent(e: TaskerEvent): void {
    if (e.name.startsWith('task.')) return this.onTaskEvent(e);
    const p = e.payload as StepEventPayload;
    const key = attemptKey(p.task_id, p.step_name, p.attempt);
    const retry = e.name === 'step.retry_scheduled' ? p : undefined;
    if (!this.awaiting.has(key) && p.error_type === ENGINE_ERROR_TYPES.workerLost)
      return this.lostAttempt(p, retry);
    this.decided(key, retry);
  }

  /**
   * An attempt whose process died (SIGKILL, a machine gone): its span never ended there, so the process
   * that records it as lost emits one from the committed facts, from the attempt's start to the recovery,
   * failed with worker_lost. Its id is new (the dead process's was never exported): spans the handler
   * started there are lost with it.
   */
  private lostAttempt(p: StepEventPayload, retry: StepEventPayload | undefined): void {
    const own = taskTraceContext(p.task_id, null);
    // A task created inside a caller's trace has that trace's id, and is traced whenever it reaches here
    // (the caller's sampling flag is not in a step event); a root task, by the rate, as everywhere.
    if (p.trace_id === own.traceId && !this.sampled(own)) return;
    const end = Date.parse(p.timestamp);
    const start = end - Math.round((p.execution_duration_seconds ?? 0) * 1000);
    const attributes: Attributes = {
      'tasker.task.id': p.task_id,
      'tasker.namespace': p.namespace_name,
      'tasker.task.name': p.task_name,
      'tasker.step.name': p.step_name,
      'tasker.step.attempt': p.attempt,
      'tasker.step.max_attempts': p.max_attempts,
    };
    this.emit(
      {
        name: `step ${p.step_name}`,
        traceId: p.trace_id,
        spanId: this.outlet?.newSpanId() ?? '',
        parentSpanId: own.spanId,
        start,
        end,
        attributes,
        error: {
          type: ENGINE_ERROR_TYPES.workerLost,
          message: p.error_message ?? 'worker lost',
          exception: true,
        },
        events: retry
          ? [{ name: 'tasker.step.retry_scheduled', at: end, attributes: retryAttributes(retry) }]
          : [],
      },
      (r) =>
        this.tracer.startSpan(
          r.name,
          { kind: SpanKind.INTERNAL, startTime: r.start, attributes },
          remoteParent(p.trace_id, own.spanId, true),
        ),
    );
  }

  /** Ends a failed attempt's span, with the retry the planner scheduled when there is one. */
  private decided(key: string, retry?: StepEventPayload): void {
    const a = this.awaiting.get(key);
    if (!a) return;
    this.awaiting.delete(key);
    clearTimeout(a.timer);
    a.finish(retry);
  }

  /** Ends the spans still waiting for a decision (the engine is closing: none will come). */
  flush(): void {
    for (const key of [...this.awaiting.keys()]) this.decided(key);
  }

  /** Emit the task span for a terminal task event (called for every one, whatever the event sampling). */
  private onTaskEvent(e: TaskerEvent): void {
    const p = e.payload as TaskEventPayload;
    if (p.created_at === undefined) return;
    const tc = taskTraceContext(p.task_id, p.traceparent ?? null);
    if (!this.sampled(tc)) return;
    const attributes: Attributes = {
      'tasker.task.id': p.task_id,
      'tasker.namespace': p.namespace_name,
      'tasker.task.name': p.task_name,
      'tasker.task.version': p.task_version,
      'tasker.correlation_id': p.correlation_id,
      'tasker.task.status': p.status,
    };
    if (p.total_steps !== undefined) attributes['tasker.task.total_steps'] = p.total_steps;
    if (p.failed_steps !== undefined) attributes['tasker.task.failed_steps'] = p.failed_steps;
    // A later end of a task that failed before (retried, resolved): the task span already went out with
    // the first end, so this one is its child, covering the resumption.
    const name = `task ${p.namespace_name}.${p.task_name}`;
    const end = Date.parse(p.timestamp);
    // Plain literals, no spreads: a spread of differently shaped objects costs microseconds a task.
    const r: SpanRecord = p.after_failure
      ? {
          name: `${name} resumed`,
          traceId: tc.traceId,
          spanId: this.outlet?.newSpanId() ?? '',
          parentSpanId: tc.spanId,
          start: end,
          end,
          attributes,
        }
      : {
          name,
          traceId: tc.traceId,
          spanId: tc.spanId,
          parentSpanId: tc.parentSpanId ?? undefined,
          start: Date.parse(p.created_at),
          end,
          attributes,
        };
    if (e.name === 'task.failed')
      r.error = { type: 'task_failed', message: p.reason ?? 'task failed', exception: false };
    this.emit(r, () =>
      p.after_failure
        ? this.tracer.startSpan(
            r.name,
            { kind: SpanKind.INTERNAL, startTime: r.start, attributes },
            remoteParent(tc.traceId, tc.spanId, tc.sampled),
          )
        : this.startTaskSpan(tc, r.name, r.start, attributes),
    );
  }

  /**
   * A finished span: to the outlet as it is, or through the API (`start` opens the live span; its ids
   * are the SDK's, so the record's `spanId` is unused there).
   */
  private emit(r: SpanRecord, start: (r: SpanRecord) => Span): void {
    const outlet = this.outlet;
    if (outlet) outlet.emit(r);
    else endLiveSpan(start(r), r);
  }

  private startTaskSpan(tc: TaskTraceContext, name: string, startTime: number, attributes: Attributes) {
    const options = { kind: SpanKind.INTERNAL, startTime, attributes };
    const parent =
      tc.parentSpanId !== null ? remoteParent(tc.traceId, tc.parentSpanId, tc.sampled) : ROOT_CONTEXT;
    const start = () =>
      withForcedIds(tc.parentSpanId === null ? tc.traceId : undefined, tc.spanId, () =>
        this.tracer.startSpan(name, options, parent),
      );
    if (this.forcing === undefined) {
      const span = start();
      const got = span.spanContext();
      const honoured = got.spanId === tc.spanId && got.traceId === tc.traceId;
      // Only a recording span proves anything (no provider yet, or a sampler that dropped it, says nothing).
      if (span.isRecording()) this.forcing = honoured;
      if (honoured || !span.isRecording()) return span;
      // Not ended, so never exported: the provider does not use TaskerIdGenerator (see below).
    } else if (this.forcing) return start();
    // A provider without TaskerIdGenerator picks its own ids: keep the span in the task's trace at least,
    // as a child of the id the steps point to (trace viewers show that parent as missing).
    return this.tracer.startSpan(name, options, remoteParent(tc.traceId, tc.spanId, tc.sampled));
  }
}

function retryAttributes(retry: StepEventPayload): Attributes {
  const attributes: Attributes = {
    'tasker.step.attempt': retry.attempt,
    'tasker.step.next_attempt': retry.attempt + 1,
  };
  if (retry.next_attempt_at) attributes['tasker.step.next_attempt_at'] = retry.next_attempt_at;
  return attributes;
}

function attemptKey(taskId: string, step: string, attempt: number): string {
  return `${taskId}\u0000${step}\u0000${attempt}`;
}
