// The public surface of tasker-engine. Everything not exported here is internal.
export { Tasker } from './tasker.js';
export { createTasker } from './engine/create-tasker.js';
export type {
  CreateTaskInput,
  CreateTaskResult,
  PruneOptions,
  PruneReport,
  TaskDetails,
  TaskQuery,
  WorkerView,
} from './tasker.js';
export type { TaskerSettings } from './engine/create-tasker.js';
export type { TemplateCatalog } from './engine/template-catalog.js';
export type { WaitOptions } from './engine/wait-for-task.js';
export type { TaskerOptions } from './config/options.js';
export type { RetentionOptions } from './config/retention.js';
export type { ConsoleOptions } from './config/console.js';
export {
  TaskerError,
  ValidationError,
  PermanentError,
  RetryableError,
  formatIssue,
  normalizeThrown,
} from './errors.js';
export type { TaskerErrorCode, ValidationIssue, NormalizedFailure } from './errors.js';
export type {
  TaskTemplate,
  StepTemplate,
  RetryPolicy,
  BackoffPolicy,
  BusinessFields,
} from './core/template.js';
export type {
  TaskRecord,
  StepRecord,
  AttemptRecord,
  TransitionRecord,
  TaskSnapshot,
} from './core/records.js';
export type { TaskState, StepState } from './core/states.js';
export { TASK_STATES, STEP_STATES } from './core/states.js';
export { taskStatusWord, stepStatusWord, TASK_STATUS_WORDS } from './core/status-words.js';
export type { TaskStatusWord, StepStatusWord } from './core/status-words.js';
export type { TaskDescription, StepDescription, StepDisplayStatus } from './core/task-description.js';
export { EventBus } from './events/bus.js';
export type { EventHandler, SubscribeOptions, SubscriberStats } from './events/bus.js';
export { BaseSubscriber } from './events/subscriber.js';
export {
  TASK_EVENTS,
  STEP_EVENTS,
  OBSERVABILITY_EVENTS,
  SAMPLEABLE_EVENTS,
  TASK_TERMINAL_EVENTS,
  TASK_TERMINAL_STATUS,
} from './events/catalog.js';
export type {
  TaskerEvent,
  EventPayload,
  TaskEventPayload,
  StepEventPayload,
  CustomEventPayload,
  SlowStepPayload,
  MemoryHighPayload,
  SystemEventName,
  EventMap,
  EventName,
  PayloadOf,
} from './events/catalog.js';
export type { TelemetryOptions, PrometheusPushOptions } from './config/telemetry.js';
export { parseTraceparent, taskTraceContext } from './core/trace-context.js';
export type { TaskTraceContext } from './core/trace-context.js';
export type {
  StepHandler,
  StepHandlerFunction,
  StepHandlerClass,
  StepHandlerInstance,
  StepHandlerContext,
  HandlerMap,
  StepView,
} from './runtime/handlers.js';
export { loadHandlersModule } from './runtime/handlers.js';
export { loadTemplatesFrom, loadTemplateSource } from './templates/load.js';
export { TemplateRegistry } from './templates/registry.js';
export type { TaskStore, TaskFilter, TaskPage } from './store/port.js';
export { SqliteStore } from './store/sqlite/sqlite-store.js';
export { PostgresStore } from './store/postgres/postgres-store.js';
export type { FailureGroup, FailureGroupKind } from './core/failure-groups.js';
export type { FailureGroupsQuery, FailureGroupsReport } from './triage/failure-groups.js';
export type {
  BulkFilter,
  BulkPreview,
  BulkRequest,
  PlannedTask,
  SkippedTask,
} from './triage/bulk-actions.js';
export type { BulkActionSpec, SkipReason } from './core/bulk-plan.js';
export type { Comparison, BaselineChoice } from './triage/compare.js';
export type { RunComparison, StepComparison, StepRun, Difference } from './core/run-compare.js';
export type { Actor } from './triage/audit.js';
export type {
  AuditRecord,
  AuditQuery,
  AuditOutcome,
  BulkJobView,
  BulkItemRecord,
  BulkJobStatus,
  BulkItemStatus,
} from './store/port.js';
