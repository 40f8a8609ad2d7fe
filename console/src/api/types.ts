/**
 * The JSON shapes of the HTTP API as console/CONTRACT.md describes them. Fields the contract marks NEW are
 * optional here, so the console still renders (with less detail) against a server that predates them.
 */

export type TaskStatus =
  'pending' | 'in_progress' | 'completed' | 'failed' | 'cancelled' | 'resolved_manually';

export type StepStatus = TaskStatus | 'waiting_for_retry' | 'blocked';

export interface TaskSummary {
  id: string;
  name: string;
  namespace: string;
  version: string;
  full_name: string;
  status: TaskStatus;
  correlation_id: string | null;
  idempotency_key: string | null;
  tags: string[];
  created_at: string;
  started_at: string | null;
  updated_at: string;
  completed_at?: string | null;
  failed_at?: string | null;
  cancelled_at?: string | null;
  resolved_at?: string | null;
}

/** A task as the stream sends it: its summary plus progress counters. */
export interface StreamTask extends TaskSummary {
  steps_total?: number;
  steps_done?: number;
  steps_failed?: number;
  running_steps?: string[];
}

export interface TaskPage {
  tasks: StreamTask[];
  next_cursor: string | null;
  limit: number;
}

export interface WaitDependency {
  step: string;
  status: StepStatus;
  /** A WaitReasonCode, or one a newer server added. */
  reason: string;
}

export type WaitReasonCode =
  | 'waiting_for_dependency'
  | 'no_free_slot'
  | 'queued'
  | 'no_worker_for_handler'
  | 'retry_backoff'
  | 'running'
  | 'lease_expired'
  | 'blocked_by_failure'
  | 'failed'
  | 'task_cancelled';

/** `reason` and `message` always; the evidence fields depend on the reason. */
export interface StepWait {
  /** A WaitReasonCode, or one a newer server added. */
  reason: string;
  message: string;
  dependencies?: WaitDependency[];
  ready_since?: string | null;
  backlog?: number;
  ahead?: number;
  slots_in_use?: number;
  slots_total?: number;
  live_workers?: number;
  handler?: string;
  until?: string | null;
  attempt?: number;
  max_attempts?: number;
  last_error_type?: string | null;
  last_error_message?: string | null;
  worker_id?: string | null;
  running_seconds?: number | null;
  lease_expires_at?: string | null;
  worker_alive?: boolean | null;
  expired_at?: string | null;
  failed_steps?: string[];
  error_type?: string | null;
  error_message?: string | null;
  attempts?: number;
  [key: string]: unknown;
}

export interface Step {
  name: string;
  handler: string;
  status: StepStatus;
  depends_on: string[];
  execution_time_seconds: number | null;
  attempts: number;
  max_attempts: number;
  retry_attempts: number;
  started_at: string | null;
  completed_at?: string | null;
  failed_at?: string | null;
  cancelled_at?: string | null;
  resolved_at?: string | null;
  error_message: string | null;
  error_type: string | null;
  blocked_by?: string[];
  timeout_seconds?: number | null;
  ready_at?: string | null;
  queued_at?: string | null;
  worker_id?: string | null;
  lease_expires_at?: string | null;
  results?: unknown;
  handler_config?: unknown;
  wait?: StepWait;
}

export type AttemptOutcome = 'complete' | 'retry' | 'error' | 'cancelled';

export interface Attempt {
  step_name: string;
  attempt: number;
  queued_at: string | null;
  started_at: string;
  finished_at: string;
  duration_seconds: number | null;
  /** An AttemptOutcome. */
  outcome: string;
  error_type: string | null;
  error_message: string | null;
  worker_id: string | null;
}

export interface PerformanceMetrics {
  total_execution_time_seconds: number | null;
  steps_completed: number;
  steps_failed: number;
  retry_attempts: number;
  attempts: number;
  bottleneck_step: string | null;
}

export interface DependencyAnalysis {
  analysis: string;
  blocked_steps: string[];
  bottleneck_identified: boolean;
  bottleneck_step: string | null;
  critical_path: string[];
  critical_path_seconds: number | null;
  suggested_action: string | null;
}

export interface BusinessContext {
  value: number | null;
  tier: string | null;
  region: string | null;
  customer: string | null;
}

export interface FailureImpact {
  category: string;
  revenue_at_risk: number | null;
  failed_step: string | null;
  error_type: string | null;
}

/** The task against its template's SLA (null when the template has none). */
export interface TaskSla {
  sla_seconds: number;
  /** Creation to end, or to when the API answered while unfinished. */
  elapsed_seconds: number;
  over_sla: boolean;
}

export interface TaskDetail extends TaskSummary {
  context?: unknown;
  trace_id?: string | null;
  sla?: TaskSla | null;
  performance_metrics?: PerformanceMetrics;
  steps: Step[];
  dependencies?: DependencyAnalysis;
  business_context?: BusinessContext | null;
  failure_impact?: FailureImpact | null;
  attempts?: Attempt[];
}

export interface Transition {
  at: string;
  step_name: string | null;
  from_state: string | null;
  to_state: string;
  attempt: number | null;
  reason: string | null;
  error_type: string | null;
}

export interface TransitionList {
  task_id: string;
  transitions: Transition[];
}

export interface HealthReport {
  status: 'healthy' | 'degraded' | 'unhealthy';
  timestamp?: string;
  checks: {
    database?: { status: string; response_time_ms?: number };
    task_processing?: {
      status: string;
      active_tasks?: number;
      pending_tasks?: number;
      failed_tasks_last_hour?: number;
      worker?: string;
    };
    step_handlers?: {
      status: string;
      registered_handlers?: number;
      namespaces?: string[];
      missing_handlers?: string[];
    };
    [name: string]: { status: string } | undefined;
  };
  performance?: Record<string, number | null>;
}

export interface ThroughputSeries {
  namespace: string;
  name: string;
  created: number[];
  completed: number[];
  failed: number[];
}

export interface Throughput {
  time_range: string;
  from: string;
  to: string;
  bucket_seconds: number;
  buckets: string[];
  series: ThroughputSeries[];
  totals: { created: number; completed: number; failed: number };
  in_progress: { namespace: string; name: string; count: number }[];
  ready_steps: { namespace: string; count: number }[];
}

export interface BottleneckStep {
  rank: number;
  namespace: string;
  name: string;
  step: string;
  executions: number;
  attempts: number;
  p50_seconds: number | null;
  p95_seconds: number | null;
  p99_seconds: number | null;
  total_seconds: number;
  share_of_time: number;
  failure_rate: number;
  retry_rate: number;
  timeouts: number;
}

export interface Bottlenecks {
  time_range: string;
  steps: BottleneckStep[];
  sample: { tasks_examined: number; truncated: boolean };
}

/**
 * The server has answered both `{region: loss}` and `{region: {failed_workflows, revenue_loss}}`;
 * lib/impact.ts reads either.
 */
export type ImpactBreakdown = Record<string, number | Record<string, number | null> | null>;

export interface BusinessImpact {
  time_range: string;
  impact_analysis: {
    total_failed_workflows: number;
    estimated_revenue_loss: number;
    affected_customers: number;
    geographic_impact: ImpactBreakdown;
    customer_tier_impact: ImpactBreakdown;
    failure_categories: ImpactBreakdown;
  };
  recommendations: string[];
  sample: { tasks_examined: number; truncated: boolean; tasks_without_business_fields?: number };
}

export interface RetryPolicy {
  max_attempts: number;
  retryable: boolean;
  backoff: { base_seconds: number; multiplier: number; max_seconds: number; jitter: boolean | number };
}

export interface TemplateStep {
  name: string;
  handler: string;
  handler_registered: boolean;
  depends_on: string[];
  timeout_seconds: number | null;
  max_attempts: number;
  retryable: boolean;
  sla_seconds?: number | null;
  retry?: RetryPolicy;
  live_workers?: number;
}

export interface Template {
  namespace: string;
  name: string;
  version: string;
  full_name: string;
  description: string | null;
  business: unknown;
  /** The task's SLA (sla_seconds, or Tasker's handler_config.monitoring.sla_seconds). */
  sla_seconds?: number | null;
  critical?: boolean;
  alert_on_failure?: boolean | null;
  business_metrics?: Record<string, unknown> | null;
  steps: TemplateStep[];
}

export interface HandlerList {
  templates: Template[];
  live_workers?: number;
}

export type WorkerStatus = 'live' | 'stopped' | 'lost';

export interface Worker {
  id: string;
  host: string;
  pid: number;
  version: string;
  status: WorkerStatus;
  started_at: string;
  last_heartbeat_at: string | null;
  stopped_at: string | null;
  concurrency: number;
  in_flight: number;
  handlers: string[];
}

export interface WorkerList {
  workers: Worker[];
  live_workers: number;
  slots_total: number;
  slots_in_use: number;
  ready_backlog: number;
}

export type Scope = 'tasks:read' | 'tasks:write' | 'analytics:read' | 'metrics:read' | 'admin';

export interface Principal {
  name: string;
  scopes: string[];
  namespaces: string[] | null;
  auth_required: boolean;
  /** The trace link template (console.trace_url): told only to signed-in callers. */
  trace_url?: string | null;
}

export interface ApiErrorBody {
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

/* Triage (CONTRACT.md "Triage (issue 12)"): failure groups, bulk actions, the audit log, compare. */

export interface FailureGroupStatusCounts {
  failed: number;
  retrying: number;
  recovered: number;
  cancelled: number;
  stuck: number;
}

export interface FailureGroup {
  /** 16 hex. */
  fingerprint: string;
  /** 'failure' | 'stuck', or a kind a newer server added. */
  kind: string;
  namespace: string;
  name: string;
  version: string;
  /** "ns/name@version". */
  template: string;
  step: string;
  error_type: string | null;
  /** The normalised message, already redacted ("timed out after <n>s for order <n>"). */
  signature: string;
  /** The latest raw message of the group (redacted). */
  message: string | null;
  tasks: number;
  attempts: number;
  by_status: FailureGroupStatusCounts;
  first_seen: string;
  last_seen: string;
  /** A failure in the last 5 minutes. */
  ongoing: boolean;
  revenue_at_risk: number;
  affected_customers: number;
  workers: { id: string; host: string | null }[];
  versions: string[];
  example_task_ids: string[];
  suggested_action: string;
  /** Failures per bucket over the window. */
  series: number[];
  /** The template is a critical workflow (its alerts page at critical severity). */
  critical?: boolean;
  /** The template's task SLA, or null. */
  sla_seconds?: number | null;
  /** On the group page: how many of its listed tasks took (or are taking) longer than the SLA. */
  tasks_over_sla?: number | null;
}

export interface FailureGroups {
  time_range: string;
  from: string;
  to: string;
  namespace: string | null;
  name?: string | null;
  total_tasks: number;
  revenue_at_risk: number;
  affected_customers: number;
  bucket_seconds: number;
  /** Ranked: revenue at risk, then tasks, descending. */
  groups: FailureGroup[];
  /** Not in the contract yet: the least costly groups were left out (too many to list). */
  truncated?: boolean;
}

export interface FailureGroupDetail {
  group: FailureGroup;
  /** Newest first, at most 500; `over_sla` null when the template has no SLA. */
  tasks: Array<TaskSummary & { over_sla?: boolean | null }>;
  truncated: boolean;
}

export type BulkActionKind = 'retry' | 'cancel' | 'resolve_step';

export interface BulkFilter {
  status?: string[];
  namespace?: string;
  name?: string;
  version?: string;
  correlation_id?: string;
  tag?: string;
  created_after?: string;
  created_before?: string;
  failure_group?: string;
  time_range?: string;
  task_ids?: string[];
}

export interface BulkActionRequest {
  action: BulkActionKind;
  filter: BulkFilter;
  /** Required, 1–2000 characters. */
  reason: string;
  dry_run: boolean;
  step?: string;
  results?: unknown;
  max_tasks?: number;
  rate_per_second?: number;
}

export interface BulkSkipped {
  task_id: string;
  /** null for a task id that was not found. */
  status: string | null;
  /** 'not_failed' | 'already_finished' | 'no_such_step' | 'step_done' | 'not_visible', or newer. */
  reason: string;
  message: string;
}

/**
 * Per step counts; the two maps depend on the action: retry `{rerun, kept}`, cancel `{aborted, never_run}`,
 * resolve_step `{resolved, unblocked}`.
 */
export type BulkStepCounts = Record<string, Record<string, number> | undefined>;

export interface BulkDryRunTask {
  task_id: string;
  namespace: string;
  name: string;
  version: string;
  full_name?: string;
  status: string;
  /**
   * The task's steps under the same two names as `steps` (retry `rerun`/`kept`; a server may use
   * `aborted`/`never_run` or `resolved`/`unblocked` for the other actions): lib/bulk.ts dryTaskSteps.
   */
  rerun?: string[];
  kept?: string[];
  [key: string]: unknown;
}

export interface BulkDryRun {
  dry_run: true;
  action: BulkActionKind;
  matched: number;
  would_change: number;
  max_tasks: number;
  exceeds_max_tasks: boolean;
  skipped_count: number;
  /** At most 200 listed. */
  skipped: BulkSkipped[];
  /** Tasks in namespaces the token may not act in (ids not shown). */
  hidden: number;
  steps: BulkStepCounts;
  /** At most 200 listed. */
  tasks: BulkDryRunTask[];
  tasks_truncated: boolean;
}

export type BulkJobStatus = 'running' | 'completed' | 'stopped' | 'failed';

export interface BulkJob {
  id: string;
  action: BulkActionKind;
  /** A BulkJobStatus, or one a newer server added. */
  status: string;
  actor: string;
  reason: string;
  filter: BulkFilter;
  step: string | null;
  created_at: string;
  finished_at: string | null;
  max_tasks: number;
  rate_per_second: number;
  total: number;
  done: number;
  skipped: number;
  failed: number;
  pending: number;
}

export interface BulkJobTask {
  task_id: string;
  /** 'pending' | 'done' | 'skipped' | 'failed'. */
  status: string;
  message: string | null;
  at: string | null;
}

export interface BulkJobDetail {
  job: BulkJob;
  tasks: BulkJobTask[];
}

export interface BulkJobList {
  jobs: BulkJob[];
}

export type AuditAction =
  | 'task.retry'
  | 'task.cancel'
  | 'step.resolve'
  | 'task.resolve'
  | 'bulk.retry'
  | 'bulk.cancel'
  | 'bulk.resolve_step'
  | 'bulk.finished'
  | 'bulk.stop';

export type AuditOutcome = 'ok' | 'refused' | 'failed';

export interface AuditEntry {
  id: string | number;
  at: string;
  actor: string;
  /** An AuditAction, or one a newer server added. */
  action: string;
  /** An AuditOutcome. */
  outcome: string;
  reason: string | null;
  namespace: string | null;
  /** At most 100. */
  task_ids: string[];
  task_count: number;
  filter: Record<string, unknown> | null;
  job_id: string | null;
  /** A refused entry's holds `{error, message}`. */
  detail: Record<string, unknown> | null;
}

export interface AuditPage {
  entries: AuditEntry[];
  next_cursor: string | null;
}

export interface StepRun {
  status: string;
  attempts: number;
  queue_wait_seconds: number | null;
  execution_seconds: number | null;
  backoff_seconds: number | null;
  workers: string[];
  hosts: string[];
  error_type: string | null;
  error: string | null;
  /** 12 hex: the value itself is never sent. */
  input_hash: string | null;
  results_hash: string | null;
}

export type CompareField =
  'status' | 'attempts' | 'execution' | 'queue_wait' | 'backoff' | 'host' | 'error' | 'input' | 'results';

export interface CompareStep {
  name: string;
  /** CompareFields, or ones a newer server added. */
  changed: string[];
  run: StepRun;
  baseline: StepRun | null;
}

export interface CompareDifference {
  step: string;
  /** The contract's word; the server may send `fields` (every field the sentence covers) instead. */
  field?: string;
  fields?: string[];
  text: string;
}

export interface TaskCompare {
  task: TaskSummary;
  baseline: TaskSummary | null;
  /** 'same_version' | 'other_version' | 'given' | 'none'. */
  baseline_choice: string;
  note: string;
  steps: CompareStep[];
  /** Largest first. */
  differences: CompareDifference[];
}
