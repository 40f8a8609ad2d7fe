/**
 * W3C trace context of a task, derived rather than stored where possible. A task without an incoming
 * parent is the root of its own trace, whose id is the task's UUID (so a task id leads straight to its
 * trace); its task span id comes from the UUID's random tail. Only an incoming `traceparent` has to be
 * stored: it fixes the trace id and is the task span's parent. Pure: no I/O, no OpenTelemetry imports.
 */

export interface TraceParent {
  traceId: string;
  spanId: string;
  /** W3C trace-flags; bit 0 = sampled. */
  flags: number;
}

export interface TaskTraceContext {
  traceId: string;
  /** The id of the `task <namespace>.<name>` span (parent of every step span). */
  spanId: string;
  /** The incoming parent's span id, when the task was created inside a trace. */
  parentSpanId: string | null;
  sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** Parses a W3C `traceparent` header value; null when it is not one (the spec says: ignore it then). */
export function parseTraceparent(value: string): TraceParent | null {
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m) return null;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (!traceId || !spanId || !flags || traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null;
  return { traceId, spanId, flags: parseInt(flags, 16) };
}

export function formatTraceparent(p: TraceParent): string {
  return `00-${p.traceId}-${p.spanId}-${(p.flags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The 32 hex digits of a UUID (fast path for the canonical form: this runs for every event). */
function uuidHex(id: string): string {
  if (id.length === 36 && id[8] === '-' && id[13] === '-' && id[18] === '-' && id[23] === '-')
    return (
      id.slice(0, 8) +
      id.slice(9, 13) +
      id.slice(14, 18) +
      id.slice(19, 23) +
      id.slice(24)
    ).toLowerCase();
  return id.replace(/-/g, '').toLowerCase();
}

/** The task's trace identity from its id and the stored incoming traceparent (if any). */
export function taskTraceContext(taskId: string, traceparent: string | null): TaskTraceContext {
  const hex = uuidHex(taskId);
  // A UUID's last 16 hex digits hold its variant bits (never all zero) and 62 random bits.
  const spanId = hex.slice(16, 32).padStart(16, '0');
  const parent = traceparent === null ? null : parseTraceparent(traceparent);
  if (parent) {
    return {
      traceId: parent.traceId,
      spanId,
      parentSpanId: parent.spanId,
      sampled: (parent.flags & 1) === 1,
    };
  }
  return { traceId: hex.padStart(32, '0'), spanId, parentSpanId: null, sampled: true };
}

/**
 * The fields every event payload starts with, for the builders outside the planner (task.created, custom
 * events, observability events). The planner writes its own literals: it builds events on the hot path.
 */
export function eventBase(
  task: {
    id: string;
    name: string;
    namespace: string;
    version: string;
    correlationId: string;
    traceparent: string | null;
  },
  event: string,
  at: number,
  spanId?: string,
) {
  const trace = taskTraceContext(task.id, task.traceparent);
  return {
    event,
    timestamp: new Date(at).toISOString(),
    task_id: task.id,
    task_name: task.name,
    namespace_name: task.namespace,
    task_version: task.version,
    correlation_id: task.correlationId,
    trace_id: trace.traceId,
    span_id: spanId ?? trace.spanId,
  };
}
