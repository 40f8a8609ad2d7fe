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

export type TaskEventName = (typeof TASK_EVENTS)[number];
export type StepEventName = (typeof STEP_EVENTS)[number];
export type SystemEventName = TaskEventName | StepEventName;

export const SYSTEM_EVENT_NAMES: ReadonlySet<string> = new Set<string>([...TASK_EVENTS, ...STEP_EVENTS]);

/** Prefixes owned by the engine: a custom event may not use them, so subscribers to `task.*` see only ours. */
export const RESERVED_EVENT_PREFIXES = ['task.', 'step.', 'workflow.', 'tasker.'] as const;

export interface BaseEventPayload {
  event: string;
  /** ISO-8601 */
  timestamp: string;
  task_id: string;
  task_name: string;
  namespace_name: string;
  task_version: string;
  correlation_id: string;
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
}

export interface CustomEventPayload extends BaseEventPayload {
  step_name: string;
  attempt: number;
  payload: unknown;
}

export type EventPayload = TaskEventPayload | StepEventPayload | CustomEventPayload;

export interface TaskerEvent<P extends EventPayload = EventPayload> {
  name: string;
  payload: P;
}

export function isReservedEventName(name: string): boolean {
  return SYSTEM_EVENT_NAMES.has(name) || RESERVED_EVENT_PREFIXES.some((p) => name.startsWith(p));
}
