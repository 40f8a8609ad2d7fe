/**
 * The lifecycle event catalog (documented in docs/events.md). Pure data: the planner in core/ builds these
 * payloads from committed state changes; the bus delivers them after the commit. Field names are
 * snake_case to match Tasker's payloads and the JSON the API and logs show.
 */

export const TASK_EVENTS = [
  'task.created',
  'task.started',
  'task.completed',
  'task.failed',
  'task.cancelled',
  'task.retry_requested',
  'task.resolved_manually',
] as const;

export const STEP_EVENTS = [
  'step.started',
  'step.completed',
  'step.failed',
  'step.retry_scheduled',
  'step.timed_out',
  'step.max_retries_reached',
  'step.resolved_manually',
  'step.blocked',
  'step.cancelled',
] as const;

/** The events a task's life ends with, each with the status word it reports (the seed's words). */
export const TASK_TERMINAL_STATUS = {
  'task.completed': 'completed',
  'task.failed': 'failed',
  'task.cancelled': 'cancelled',
  'task.resolved_manually': 'resolved_manually',
} as const satisfies Partial<Record<(typeof TASK_EVENTS)[number], string>>;

export type TaskTerminalEvent = keyof typeof TASK_TERMINAL_STATUS;

export const TASK_TERMINAL_EVENTS = Object.keys(TASK_TERMINAL_STATUS) as readonly TaskTerminalEvent[];

/** Performance monitoring (telemetry.performance_monitoring_enabled). */
export const OBSERVABILITY_EVENTS = ['observability.step.slow', 'observability.memory.high'] as const;

/** High-volume events event_sampling_rate may withhold; failures, retries, timeouts and ends never are. */
export const SAMPLEABLE_EVENTS: ReadonlySet<string> = new Set([
  'task.created',
  'task.started',
  'step.started',
  'step.completed',
]);

export type TaskEventName = (typeof TASK_EVENTS)[number];
export type StepEventName = (typeof STEP_EVENTS)[number];
export type SystemEventName = TaskEventName | StepEventName;

export const SYSTEM_EVENT_NAMES: ReadonlySet<string> = new Set<string>([
  ...TASK_EVENTS,
  ...STEP_EVENTS,
  ...OBSERVABILITY_EVENTS,
]);

/** Prefixes owned by the engine: a custom event may not use them, so subscribers to `task.*` see only ours. */
export const RESERVED_EVENT_PREFIXES = ['task.', 'step.', 'workflow.', 'tasker.', 'observability.'] as const;

export interface BaseEventPayload {
  event: string;
  /** ISO-8601 */
  timestamp: string;
  task_id: string;
  task_name: string;
  namespace_name: string;
  task_version: string;
  correlation_id: string;
  /** The task's trace (the task id's hex unless it was created inside another trace). */
  trace_id: string;
  /** The span the event belongs to: the step attempt's when tracing ran it, else the task span. */
  span_id: string;
}

export interface StepEventPayload extends BaseEventPayload {
  step_name: string;
  attempt: number;
  max_attempts: number;
  execution_duration_seconds: number | null;
  error_message: string | null;
  error_type: string | null;
  /** On step.retry_scheduled: when the next attempt may start (ISO-8601). */
  next_attempt_at?: string;
  /** On step.blocked: the failed steps upstream that keep this one from running. */
  blocked_by?: string[];
  /** On step.resolved_manually: the results supplied by the operator. */
  results?: unknown;
  /** On step.started: how long the step waited between becoming ready and being claimed. */
  queue_wait_seconds?: number | null;
}

export interface TaskEventPayload extends BaseEventPayload {
  status: string;
  /** On terminal events (completed, failed, cancelled, resolved_manually). */
  execution_duration_seconds?: number | null;
  total_steps?: number;
  completed_steps?: number;
  failed_steps?: number;
  context?: Record<string, unknown>;
  reason?: string | null;
  /** On terminal events: when the task was created (ISO-8601). */
  created_at?: string;
  /** On terminal events: the W3C traceparent the task was created under; null when it began its own trace. */
  traceparent?: string | null;
  /** On terminal events: the task had failed before and was retried or resolved (a later end). */
  after_failure?: boolean;
}

export interface CustomEventPayload extends BaseEventPayload {
  step_name: string;
  attempt: number;
  payload: unknown;
}

/** observability.step.slow: a step attempt slower than its threshold. */
export interface SlowStepPayload extends BaseEventPayload {
  step_name: string;
  attempt: number;
  execution_duration_seconds: number;
  threshold_seconds: number;
  /** Where the threshold came from: sla_seconds, handler_config.monitoring.sla_seconds or telemetry. */
  threshold_source: string;
}

/** observability.memory.high: the process's resident memory passed telemetry.memory_threshold_mb. */
export interface MemoryHighPayload {
  event: string;
  timestamp: string;
  rss_mb: number;
  heap_used_mb: number;
  threshold_mb: number;
  /** Absent on process-wide events. */
  task_id?: undefined;
}

export type EventPayload =
  TaskEventPayload | StepEventPayload | CustomEventPayload | SlowStepPayload | MemoryHighPayload;

export interface TaskerEvent<P extends EventPayload = EventPayload> {
  name: string;
  payload: P;
}

/** Each engine event's payload type, by name (graphile-worker's WorkerEventMap is the model). */
export type EventMap = { [K in TaskEventName]: TaskEventPayload } & {
  [K in StepEventName]: StepEventPayload;
} & {
  'observability.step.slow': SlowStepPayload;
  'observability.memory.high': MemoryHighPayload;
};

export type EventName = keyof EventMap;

/**
 * The payload a subscription's events carry: an engine event's own type, the engine's payload for
 * `task.*` and `step.*`, and any payload for other patterns (custom events, `*`).
 */
export type PayloadOf<Pattern extends string> = Pattern extends EventName
  ? EventMap[Pattern]
  : Pattern extends 'task.*'
    ? TaskEventPayload
    : Pattern extends 'step.*'
      ? StepEventPayload
      : EventPayload;

export function isReservedEventName(name: string): boolean {
  return SYSTEM_EVENT_NAMES.has(name) || RESERVED_EVENT_PREFIXES.some((p) => name.startsWith(p));
}
