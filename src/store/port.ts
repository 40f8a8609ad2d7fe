/**
 * The store port: the only way the engine touches persistence. Deliberately coarse: one `cycle` call is
 * one transaction that records finished attempts, recovers expired leases and claims ready steps, so an
 * adapter can group many transitions into one commit. Every state decision is made by the pure
 * TaskWorkspace; adapters load snapshots, run it, and write what it changed with fenced UPDATEs.
 */
import type { ClaimedStepPlan, ClaimRules } from '../core/cycle-planner.js';
import type { StepOutcome } from '../core/outcomes.js';
import type {
  AttemptRecord,
  TaskCreatedDraft,
  TaskRecord,
  TaskSnapshot,
  TransitionRecord,
} from '../core/records.js';
import type { TaskState } from '../core/states.js';
import type { OutcomeResult, TaskWorkspace } from '../core/task-workspace.js';
import type { TaskerEvent } from '../events/catalog.js';
import type { ArchivedTask } from '../core/archive-format.js';
import type { ImpactCustomers, ImpactGroup } from '../core/business-impact.js';
import type { StepDurationRow } from '../core/step-stats.js';
import type { PruneRule } from '../core/retention.js';
import type * as triage from './port-triage.js';
import type { PrunableTask, PruneCount } from './prune-sql.js';

export * from './port-triage.js';
export type { PrunableTask, PruneCount } from './prune-sql.js';

/** The tasks created since `from`, of one namespace/template, within the namespaces a caller may read. */
export interface AnalyticsQuery {
  from: number;
  namespace?: string | undefined;
  name?: string | undefined;
  /** null or absent: every namespace. */
  namespaces?: readonly string[] | null | undefined;
}

/** How many ready steps to claim and under which limits (see core/cycle-planner.ts). */
export type ClaimSpec = ClaimRules;

export interface CycleInput {
  workerId: string;
  now: number;
  outcomes: StepOutcome[];
  claim: ClaimSpec | null;
  recoverExpiredLeases: boolean;
  /** Which events anyone subscribes to; others are not built. @default all */
  wantsEvent?: ((eventName: string) => boolean) | undefined;
}

/** A claimed step, with its task and all its steps as of the claim (for `sequence.findStepByName`). */
export type ClaimedStep = ClaimedStepPlan;

export interface CycleResult {
  applied: Array<{ outcome: StepOutcome; result: OutcomeResult }>;
  claimed: ClaimedStep[];
  /** In-progress attempts whose lease had expired, now recorded as worker_lost. */
  recovered: number;
  /** Events of everything committed, in order. */
  events: TaskerEvent[];
  /** Earliest ready_at still in the future, to schedule the next claim. */
  nextReadyAt: number | null;
  /** Tasks whose rows this cycle wrote (live views are told about them). */
  touched: string[];
}

/** Which tasks changed: their ids, or `resync` when they cannot be named (too many, another process). */
export type ChangeNotice =
  { taskIds: string[]; resync?: undefined } | { resync: 'overflow' | 'remote'; taskIds?: undefined };

/** A running attempt's lease, fenced on the attempt number. */
export interface HeldLease {
  taskId: string;
  stepId: number;
  attempt: number;
}

export interface CreatedTask {
  task: TaskRecord;
  created: boolean;
  events: TaskerEvent[];
}

export interface TaskFilter {
  status?: TaskState[] | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
  version?: string | undefined;
  correlationId?: string | undefined;
  tag?: string | undefined;
  createdAfter?: number | undefined;
  createdBefore?: number | undefined;
  /** @default 50 */
  limit?: number | undefined;
  /** Opaque, from a previous page's `nextCursor`. */
  cursor?: string | undefined;
}

export interface TaskPage {
  tasks: TaskRecord[];
  nextCursor: string | null;
}

export interface MigrationStatus {
  /** Schema version the database is at (0: nothing applied). */
  current: number;
  /** Newest version this tasker-engine knows. */
  latest: number;
  /** Versions applied by this call (migrate) — empty for a status check. */
  applied: number[];
  /** Migrations still to apply. */
  pending: Array<{ version: number; name: string }>;
}

export interface TaskStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Where the data lives, for messages (file path or host:port/db). */
  readonly location: string;
  migrate(): Promise<MigrationStatus>;
  /** Where the schema stands, without changing anything. */
  schemaStatus(): Promise<MigrationStatus>;
  close(): Promise<void>;
  /**
   * Insert tasks in one transaction; for an idempotency key already used, returns the existing task with
   * created=false instead.
   */
  createTasks(drafts: readonly TaskCreatedDraft[]): Promise<CreatedTask[]>;
  cycle(input: CycleInput): Promise<CycleResult>;
  /** Extend the leases this worker holds; returns those it no longer holds (cancelled, taken over). */
  heartbeat(workerId: string, leases: readonly HeldLease[], leaseExpiresAt: number): Promise<HeldLease[]>;
  /** Run an operator action on one task in a transaction. */
  mutateTask(
    taskId: string,
    action: (ws: TaskWorkspace) => void,
    /** The audit entry of an operator action, written in the same transaction (given the task as changed). */
    audit?: (task: TaskRecord) => triage.AuditDraft,
  ): Promise<{ snapshot: TaskSnapshot; events: TaskerEvent[] }>;
  getTask(taskId: string): Promise<TaskSnapshot | null>;
  /**
   * Optional: call `onWake` when another process may have made work ready (PostgreSQL LISTEN/NOTIFY).
   * `onError` when the channel is lost (it reconnects by itself), `onConnect` after every (re)connect:
   * while it is up, workers poll only as a safety net. Returns a function that stops listening. Without
   * it, workers rely on polling alone.
   */
  listen?(
    onWake: () => void,
    onError: (err: unknown) => void,
    onConnect?: () => void,
  ): Promise<() => Promise<void>>;
  /**
   * Optional: tell other processes which tasks this one changed (PostgreSQL NOTIFY), after the commit.
   * `origin` identifies the sender; listeners get it back and skip their own notices.
   */
  publishChanges?(notice: ChangeNotice, origin: string): Promise<void>;
  /**
   * Optional: hear about tasks other processes changed (PostgreSQL LISTEN; SQLite watches its file for
   * other connections' commits and says `resync`). Returns a function that stops listening.
   */
  listenChanges?(
    onChange: (notice: ChangeNotice, origin: string | null) => void,
    onError: (err: unknown) => void,
  ): Promise<() => Promise<void>>;
  getAttempts(taskId: string): Promise<AttemptRecord[]>;
  getTransitions(taskId: string): Promise<TransitionRecord[]>;
  listTasks(filter: TaskFilter): Promise<TaskPage>;
  /** How many tasks match (cursor and limit ignored). */
  countTasks(filter: TaskFilter): Promise<number>;
  /** Snapshots of several tasks in one read (analytics); unknown ids are left out. */
  getTasks(taskIds: readonly string[]): Promise<TaskSnapshot[]>;
  /** Attempts of several tasks in one read (analytics). */
  getAttemptsFor(taskIds: readonly string[]): Promise<AttemptRecord[]>;
  /** The store's size and its oldest task (metrics, health); cheap: catalog figures and one index probe. */
  storeStats(): Promise<StoreStats>;
  /**
   * A number that grows whenever any process records a task's or step's change (the newest transition's
   * id): two readings tell the pruner whether the engine worked in between. One index or sequence probe.
   */
  activityMark(): Promise<number>;
  /** One cheap round trip: proves the store answers (health checks). */
  ping(): Promise<void>;
  /** Running tasks by template and ready, unclaimed steps by namespace (the metrics gauges). */
  activeCounts(now: number): Promise<ActiveCounts>;
  /**
   * Insert or replace a worker's registry row (at start, every heartbeat, at a clean stop). Rows of
   * workers that ended more than a day before `w.heartbeatAt` are deleted on the way.
   */
  saveWorker(w: WorkerRecord): Promise<void>;
  /**
   * Workers still running (not stopped, not expired at `now`) and those that stopped or expired after
   * `endedAfter`, newest first; `inFlight` counted from the leases they hold.
   */
  listWorkers(now: number, endedAfter: number): Promise<WorkerRecord[]>;
  /**
   * Ready, unclaimed steps at `now` (with `namespaces`, only steps of tasks in them), and for each instant
   * of `before`, how many of them became ready before it. One statement, however many instants; every
   * count stops at READY_COUNT_CAP, so a huge backlog costs a bounded index range.
   */
  countReady(now: number, opts?: ReadyCountOptions): Promise<{ total: number; ahead: number[] }>;
  /**
   * Tasks counted per template and time bucket, in SQL: those created in [from, to) per creation bucket;
   * those created since `scanFrom` that completed or failed in [from, to), per finishing bucket.
   */
  throughput(q: ThroughputQuery): Promise<ThroughputRow[]>;
  /**
   * The window's failing attempts grouped by template, step, error type and signature (all in SQL), and
   * the running tasks that are stuck now (see store/triage-sql.ts).
   */
  failureGroups(q: triage.FailureGroupQuery): Promise<triage.FailureGroupData>;
  /** A window's failed tasks counted by region, tier and failing step, in SQL (store/analytics-sql.ts). */
  impactGroups(q: AnalyticsQuery): Promise<{ groups: ImpactGroup[]; customers: ImpactCustomers }>;
  /** A window's tasks counted, and its attempts as per-step duration histograms, in SQL. */
  stepDurations(q: AnalyticsQuery): Promise<{ tasks: number; durations: StepDurationRow[] }>;
  /** The tasks of one failure group (not stuck ones: those come with failureGroups), last to fail first. */
  failureGroupTaskIds(q: triage.FailureGroupQuery, fingerprint: string, limit: number): Promise<string[]>;
  /** Finished tasks one prune rule (core/retention.ts) selects now, oldest first, at most `limit`. */
  findPrunable(rule: PruneRule, limit: number): Promise<PrunableTask[]>;
  /** How many tasks each rule selects now, by template and state (a dry run). */
  countPrunable(rules: readonly PruneRule[]): Promise<PruneCount[]>;
  /**
   * Delete tasks whole (attempts, transitions, tags, steps, the task row) in one transaction, each only
   * if `rule` still selects it and it is unchanged since it was read (`updatedAt`). Returns the ids
   * deleted: a task retried or resolved meanwhile stays.
   */
  deleteTasks(tasks: readonly PrunableTask[], rule: PruneRule): Promise<string[]>;
  /**
   * Run `fn` unless another process runs something under the same name now (PostgreSQL: an advisory lock;
   * SQLite: in this process only, where a second pruner would merely find nothing left to delete).
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
  /** Delete at most `limit` audit entries written before `before` (with their task links); how many. */
  pruneAudit(before: number, limit: number): Promise<number>;
  /** Several tasks' transitions in one read (archiving), each task's in order. */
  getTransitionsFor(taskIds: readonly string[]): Promise<TransitionRecord[]>;
  /**
   * Archived tasks back in (core/archive-format.ts), whole and as they were, in one transaction: a task
   * whose id or idempotency key is taken is skipped, never overwritten.
   */
  importTasks(tasks: readonly ArchivedTask[]): Promise<{ imported: string[]; skipped: string[] }>;
  /** Every template's own retention as stored (`retention`: the RetentionSpec's JSON, `{}` for none). */
  templateRetentions(): Promise<StoredTemplateRetention[]>;
  /** Insert or replace these templates' rows (the caller keeps only those at a version ≥ the stored one). */
  saveTemplateRetentions(rows: readonly StoredTemplateRetention[], now: number): Promise<void>;
  /** How many audit entries were written before `before`. */
  countAudit(before: number): Promise<number>;
  /** Append audit entries (outside any task mutation: refusals, bulk job events). */
  appendAudit(entries: readonly triage.AuditDraft[]): Promise<void>;
  /** Audit entries, newest first. */
  listAudit(q: triage.AuditQuery): Promise<triage.AuditRecord[]>;
  /** Record a bulk job, its planned tasks (pending or skipped) and its audit entry, in one transaction. */
  createBulkJob(
    job: triage.BulkJobRecord,
    items: readonly triage.BulkItemDraft[],
    audit: triage.AuditDraft,
  ): Promise<void>;
  getBulkJob(id: string): Promise<triage.BulkJobView | null>;
  listBulkJobs(limit: number): Promise<triage.BulkJobView[]>;
  bulkItems(jobId: string): Promise<triage.BulkItemRecord[]>;
  /**
   * Take (or renew) the lease of a running job: `jobId` null takes the oldest running job whose lease is
   * free or expired. Returns the job when this owner holds it until `leaseUntil`.
   */
  leaseBulkJob(
    jobId: string | null,
    owner: string,
    now: number,
    leaseUntil: number,
  ): Promise<triage.BulkJobRecord | null>;
  /** The next pending tasks of a job, in plan order. */
  pendingBulkItems(jobId: string, limit: number): Promise<triage.BulkItemRecord[]>;
  /**
   * Act on one task of a job in one transaction with marking its item: only while the job runs under
   * this owner's lease and the item is still pending, so no task is acted on twice. An action the task no
   * longer allows (a TaskerError) marks the item skipped with the reason instead.
   */
  applyBulkItem(
    jobId: string,
    owner: string,
    position: number,
    taskId: string,
    action: (ws: TaskWorkspace) => void,
    now: number,
  ): Promise<triage.BulkItemApplied>;
  /** End a job (completed, stopped, failed) and append its audit entry; false when it had already ended. */
  finishBulkJob(
    jobId: string,
    status: triage.BulkJobStatus,
    now: number,
    audit: triage.AuditDraft,
  ): Promise<boolean>;
}

export interface ThroughputQuery {
  from: number;
  to: number;
  bucketMs: number;
  /** Tasks created from here on are read (before `from`: their ends inside the window count). @default from */
  scanFrom?: number | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
  /** Only these namespaces (a limited token); null: all. */
  namespaces?: readonly string[] | null | undefined;
}

export interface ThroughputRow {
  namespace: string;
  name: string;
  /** Bucket index from `from`. */
  bucket: number;
  created: number;
  completed: number;
  failed: number;
}

export interface ReadyCountOptions {
  before?: readonly number[] | undefined;
  namespaces?: readonly string[] | null | undefined;
}

export interface StoredTemplateRetention {
  namespace: string;
  name: string;
  version: string;
  retention: string;
}

export interface StoreStats {
  /** Bytes on disk: PostgreSQL, the schema's tables with their indexes and TOAST; SQLite, the file's pages. */
  bytes: number;
  /** created_at of the oldest task stored, null when there is none. */
  oldestTaskCreatedAt: number | null;
}

/** A worker process as the registry knows it. */
export interface WorkerRecord {
  id: string;
  host: string;
  pid: number;
  version: string;
  startedAt: number;
  heartbeatAt: number;
  /** Past this instant without a heartbeat the worker is presumed lost (its leases expire with it). */
  expiresAt: number;
  stoppedAt: number | null;
  concurrency: number;
  inFlight: number;
  handlers: string[];
}

/**
 * Where ready-step counts stop ("1,000+ ready"): counting further tells an operator nothing more, and
 * every detail of a waiting task counts (at 10,000, 10-25 ms of PostgreSQL a detail with a deep queue).
 */
export const READY_COUNT_CAP = 1_000;

/** Registry rows of workers that ended longer ago than this are deleted. */
export const WORKER_ROW_RETENTION_MS = 24 * 3_600_000;

export interface ActiveCounts {
  inProgress: Array<{ namespace: string; name: string; count: number }>;
  ready: Array<{ namespace: string; count: number }>;
}
