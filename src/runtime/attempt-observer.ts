/**
 * The hook a tracer hangs off: told when an attempt starts and ends, and given the chance to run the
 * handler inside its own context (so instrumented calls the handler makes join the task's trace). The
 * runtime knows only this interface; telemetry/tracing.ts implements it with @opentelemetry/api.
 */
import type { NormalizedFailure } from '../errors.js';
import type { ClaimedStep } from '../store/port.js';

export type AttemptEnd = { kind: 'success' } | { kind: 'failure'; failure: NormalizedFailure };

export interface AttemptScope {
  /** The attempt's span id: step events of the attempt carry it. */
  readonly spanId: string | undefined;
  /** Fields for every log line the handler writes (trace_id, span_id). */
  readonly logFields: Readonly<Record<string, string>>;
  run<T>(fn: () => T): T;
  /**
   * Called once, when the attempt settles (before its outcome is committed); `attemptSpanId` is the span
   * another observer opened for the attempt, if any.
   */
  end(how: AttemptEnd, finishedAt: number, attemptSpanId?: string): void;
}

export interface AttemptObserver {
  start(claimed: ClaimedStep, startedAt: number): AttemptScope | undefined;
}

/** One observer from several (tracing and slow-step monitoring); undefined when there are none. */
export function composeObservers(list: readonly AttemptObserver[]): AttemptObserver | undefined {
  if (list.length <= 1) return list[0];
  return {
    // Plain loops, no spreads or closure chains: this runs for every attempt.
    start(claimed, startedAt) {
      const scopes: AttemptScope[] = [];
      let spanId: string | undefined;
      let logFields: Readonly<Record<string, string>> = {};
      for (const o of list) {
        const s = o.start(claimed, startedAt);
        if (!s) continue;
        scopes.push(s);
        spanId ??= s.spanId;
        if (Object.keys(s.logFields).length > 0)
          logFields = scopes.length === 1 ? s.logFields : { ...logFields, ...s.logFields };
      }
      return {
        spanId,
        logFields,
        run: <T>(fn: () => T): T => runInside(scopes, 0, fn),
        end: (how, finishedAt) => {
          for (const s of scopes) s.end(how, finishedAt, spanId);
        },
      };
    },
  };
}

function runInside<T>(scopes: readonly AttemptScope[], i: number, fn: () => T): T {
  const s = scopes[i];
  return s === undefined ? fn() : s.run(() => runInside(scopes, i + 1, fn));
}
