/**
 * A task's span is emitted when the task ends, possibly in another process than the one that ran its
 * steps, yet its id must be the one those steps named as parent. OpenTelemetry's API cannot set a span's
 * id, so the engine leaves the wanted ids here for the instant of one synchronous startSpan call, and
 * TaskerIdGenerator (installed by `tasker serve`/`worker`, and offered to host apps) hands them out.
 * No imports: the runtime path must not load the SDK.
 */

let wanted: { traceId: string | undefined; spanId: string | undefined } | undefined;

/** Runs `start` (one synchronous startSpan) with these ids on offer to the id generator. */
export function withForcedIds<T>(traceId: string | undefined, spanId: string, start: () => T): T {
  wanted = { traceId, spanId };
  try {
    return start();
  } finally {
    wanted = undefined;
  }
}

export function takeForcedTraceId(): string | undefined {
  const id = wanted?.traceId;
  if (wanted) wanted.traceId = undefined;
  return id;
}

export function takeForcedSpanId(): string | undefined {
  const id = wanted?.spanId;
  if (wanted) wanted.spanId = undefined;
  return id;
}
