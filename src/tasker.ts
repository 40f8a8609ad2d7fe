/**
 * The public library API: a thin facade over collaborators that createTasker (engine/create-tasker.ts,
 * the composition root) builds and hands over finished. Changes go to TaskCommands, reads to TaskReads,
 * telemetry was wired once (engine/telemetry-wiring.ts); what stays here is this process's lifecycle
 * (worker, bulk runner, close) and event subscriptions. The CLI and the HTTP API use only its public
 * members.
 */
import type { Logger } from 'pino';
import type { Registry, RegistryContentType } from 'prom-client';
import type { ResolvedOptions } from './config/options.js';
import type { BusinessImpact } from './core/business-impact.js';
import type { FailureGroup } from './core/failure-groups.js';
import type { AttemptRecord, TaskRecord, TaskSnapshot, TransitionRecord } from './core/records.js';
import type { Redactor } from './core/redact.js';
import type { StepStats } from './core/step-stats.js';
import type { StepWait } from './core/step-waits.js';
import type { TaskDescription } from './core/task-description.js';
import type { TaskerParts, TaskerSettings } from './engine/create-tasker.js';
import type { PruneOptions, PruneReport, PruneStatus } from './engine/pruner.js';
import type { RefusalFields } from './engine/task-commands.js';
import type { CreateTaskInput, CreateTaskResult } from './engine/task-drafts.js';
import {
  WORKER_WINDOW_MS,
  type RecentPerformance,
  type TaskDetails,
  type TaskQuery,
  type WindowReport,
  type WorkerView,
} from './engine/task-reads.js';
import type { TemplateCatalog } from './engine/template-catalog.js';
import { waitForTask, type WaitOptions } from './engine/wait-for-task.js';
import { TaskerError } from './errors.js';
import type { EventBus, EventHandler, SubscribeOptions } from './events/bus.js';
import type { ChangeListener } from './events/change-feed.js';
import type { PayloadOf, TaskerEvent } from './events/catalog.js';
import type { BaseSubscriber } from './events/subscriber.js';
import type { HandlerMap, HandlerRegistry } from './runtime/handlers.js';
import type { Worker } from './runtime/worker.js';
import type {
  ActiveCounts,
  AuditQuery,
  StoreStats,
  AuditRecord,
  BulkItemRecord,
  BulkJobView,
  TaskPage,
  TaskStore,
  ThroughputQuery,
  ThroughputRow,
} from './store/port.js';
import type { TemplateRegistry } from './templates/registry.js';
import type { Actor } from './triage/audit.js';
import type { BulkPreview, BulkRequest } from './triage/bulk-actions.js';
import type { Comparison } from './triage/compare.js';
import type { FailureGroupsQuery, FailureGroupsReport } from './triage/failure-groups.js';

export type { CreateTaskInput, CreateTaskResult } from './engine/task-drafts.js';
export type { PruneOptions, PruneReport } from './engine/pruner.js';
export type { TaskDetails, TaskQuery, WorkerView } from './engine/task-reads.js';

export class Tasker {
  /** The event bus; `tasker.events.stats()` reports each subscriber's deliveries (docs/events.md). */
  readonly events: EventBus;
  /** The engine's logger: every line passes the redactor. */
  readonly logger: Logger;
  /** Masks configured sensitive keys in everything that leaves the engine. */
  readonly redactor: Redactor;
  /** Prometheus registry the engine's metrics live in (served at /tasker/metrics). */
  readonly metrics: Registry<RegistryContentType>;
  /** This process's templates and handlers, read-only. */
  readonly catalog: TemplateCatalog;
  /** The settings clients act on (headers, endpoints, where tasks live), read-only. */
  readonly settings: TaskerSettings;
  /** @deprecated mutable internals: read through `catalog`, register with registerHandlers. */
  readonly templates: TemplateRegistry;
  /** @deprecated mutable internals: read through `catalog`, register with registerHandlers. */
  readonly handlers: HandlerRegistry;
  /** @deprecated an internal shape: read `settings` and catalog.stepSlaSeconds. */
  readonly telemetry: ResolvedOptions['telemetry'];
  /** The store, every operation timed: a low-level handle for tests and benchmarks, not for clients. */
  readonly store: TaskStore;
  private closed = false;

  /** @internal Built by createTasker (engine/create-tasker.ts), which owns the wiring. */
  constructor(private readonly engine: TaskerParts) {
    this.events = engine.wired.events;
    this.logger = engine.wired.logger;
    this.redactor = engine.wired.redactor;
    this.metrics = engine.wired.metrics;
    this.store = engine.wired.store;
    this.catalog = engine.catalog;
    this.settings = engine.settings;
    this.templates = engine.templates;
    this.handlers = engine.handlers;
    this.telemetry = engine.telemetry;
  }

  /** Create a task from a registered template. Validates the context and that every handler exists first. */
  async createTask(input: CreateTaskInput): Promise<CreateTaskResult> {
    const [result] = await this.createTasks([input]);
    if (!result) throw new Error('internal: createTasks returned nothing');
    return result;
  }

  /**
   * Create many tasks in one transaction (much faster than one createTask call each). Every input is
   * validated first: if any is invalid, none is created and the error names its index.
   */
  async createTasks(inputs: readonly CreateTaskInput[]): Promise<CreateTaskResult[]> {
    return this.open.commands.createTasks(inputs);
  }

  /** Cancel a task; its running attempts are aborted (here at once, in other processes at their next heartbeat). */
  async cancelTask(taskId: string, reason: string | null = null, by: Actor = {}): Promise<TaskSnapshot> {
    return this.open.commands.cancelTask(taskId, reason, by);
  }

  /** Run a failed task's failed steps again (completed steps are kept). */
  async retryTask(taskId: string, reason: string | null = null, by: Actor = {}): Promise<TaskSnapshot> {
    return this.open.commands.retryTask(taskId, reason, by);
  }

  async resolveStep(
    taskId: string,
    stepName: string,
    results: unknown = null,
    by: Actor & { reason?: string | null } = {},
  ): Promise<TaskSnapshot> {
    return this.open.commands.resolveStep(taskId, stepName, results, by);
  }

  async resolveTask(taskId: string, reason: string | null = null, by: Actor = {}): Promise<TaskSnapshot> {
    return this.open.commands.resolveTask(taskId, reason, by);
  }

  /**
   * Delete finished tasks (whole: steps, attempts, transitions) that the retention policy no longer keeps,
   * and audit entries past their age, in small batches; with `dryRun`, count them and change nothing.
   * Pending and running tasks are never deleted, however old. Templates' own `retention` overrides the
   * policy for their tasks (this process's registered templates are the ones that count).
   */
  prune(options?: PruneOptions): Promise<PruneReport> {
    return this.open.pruner.prune(options);
  }

  /**
   * Load an archive file written by a prune (`retention.archive_dir`, `tasker db prune --archive`) back into
   * the store, every task whole and as it was archived; tasks already present are skipped. The file is
   * read and checked whole before anything is written, and written in one transaction.
   */
  importArchive(
    path: string,
  ): Promise<{ file: string; tasks: number; imported: string[]; skipped: string[] }> {
    return this.open.pruner.importArchive(path);
  }

  /** What a bulk action would do, task by task; changes nothing. */
  previewBulkAction(req: BulkRequest): Promise<BulkPreview> {
    return this.open.commands.previewBulkAction(req);
  }

  /**
   * Record a bulk action as a job and run it in the background (in this process, or in any other with
   * the store open should this one stop). A refusal (bad input, too many tasks) is audited too.
   */
  async startBulkAction(req: BulkRequest): Promise<BulkJobView> {
    return this.open.commands.startBulkAction(req);
  }

  /** Stop a running bulk job: tasks not yet acted on are skipped. */
  async stopBulkJob(id: string, reason: string, by: Actor = {}): Promise<BulkJobView> {
    return this.engine.commands.stopBulkJob(id, reason, by);
  }

  /** Pick up bulk jobs left running (by a process that stopped) and run new ones here. */
  runBulkJobs(): void {
    this.open.runner.start();
  }

  /** Write an audit entry saying an action was refused (the HTTP API's own refusals: scope, input). */
  async recordRefusal(action: string, err: unknown, fields: RefusalFields = {}): Promise<void> {
    return this.engine.commands.recordRefusal(action, err, fields);
  }

  async getTask(taskId: string): Promise<TaskDetails> {
    return this.engine.reads.getTask(taskId);
  }

  /** Tasks newest first; `status` takes the seed's words (`completed`, `failed`) or the stored ones. */
  listTasks(filter: TaskQuery = {}): Promise<TaskPage> {
    return this.engine.reads.listTasks(filter);
  }

  /** How many tasks match a filter (cursor and limit ignored). */
  countTasks(filter: TaskQuery = {}): Promise<number> {
    return this.engine.reads.countTasks(filter);
  }

  /** getTask() for many tasks in two reads; unknown ids are left out. */
  async describeTasks(taskIds: readonly string[]): Promise<TaskDetails[]> {
    return this.engine.reads.describeTasks(taskIds);
  }

  /** Snapshots (task and steps) of several tasks in one read; unknown ids are left out. */
  taskSnapshots(taskIds: readonly string[]): Promise<TaskSnapshot[]> {
    return this.engine.reads.taskSnapshots(taskIds);
  }

  /** The attempts of several tasks in one read. */
  attemptsOf(taskIds: readonly string[]): Promise<AttemptRecord[]> {
    return this.engine.reads.attemptsOf(taskIds);
  }

  getTransitions(taskId: string): Promise<TransitionRecord[]> {
    return this.engine.reads.getTransitions(taskId);
  }

  /** Averages over (up to 200 of) the tasks completed that were created since `since` (health report). */
  async recentPerformance(since: number): Promise<RecentPerformance> {
    return this.engine.reads.recentPerformance(since);
  }

  /**
   * Worker processes from the shared registry: every live one, and those that stopped or were lost
   * (stopped heartbeating, so their leases expire) within `windowMs`. In-flight counts come from the
   * leases each holds now.
   */
  async listWorkers(
    windowMs = WORKER_WINDOW_MS,
    namespaces: readonly string[] | null = null,
  ): Promise<WorkerView[]> {
    return this.engine.reads.listWorkers(windowMs, namespaces);
  }

  /** Tasks created, completed and failed per time bucket and template (aggregated by the store). */
  throughput(q: ThroughputQuery): Promise<ThroughputRow[]> {
    return this.engine.reads.throughput(q);
  }

  /** Running tasks per template and ready steps per namespace, now. */
  activeCounts(): Promise<ActiveCounts> {
    return this.engine.reads.activeCounts();
  }

  /** Ready, unclaimed steps now (in the given namespaces; null: all). */
  async countReady(namespaces: readonly string[] | null = null): Promise<number> {
    return this.engine.reads.countReady(namespaces);
  }

  /**
   * Why each step of a task that is not complete or resolved is waiting, with the evidence
   * (core/step-waits.ts). Backlog figures count only steps of `namespaces` (null: all).
   */
  async explainWaits(
    d: TaskDescription,
    namespaces: readonly string[] | null = null,
  ): Promise<Map<string, StepWait>> {
    return this.engine.reads.explainWaits(d, namespaces);
  }

  /**
   * Failing attempts of a time window grouped by cause (template, step, error type and the message with
   * its ids and numbers masked), and running tasks that are stuck, ranked by revenue at risk.
   */
  async failureGroups(q: FailureGroupsQuery): Promise<FailureGroupsReport> {
    return this.open.reads.failureGroups(q);
  }

  /**
   * What the failed tasks created in a time window cost, by region, customer tier and failing step, as
   * their templates' business fields say. Aggregated in the store: no task is loaded.
   */
  async businessImpact(q: FailureGroupsQuery): Promise<WindowReport & { impact: BusinessImpact }> {
    return this.open.reads.businessImpact(q);
  }

  /**
   * Per template and step of the tasks created in a time window: attempts, duration percentiles, failure
   * and retry rates, timeouts, ranked by share of the time all steps took. Aggregated in the store.
   */
  async bottlenecks(q: FailureGroupsQuery): Promise<WindowReport & { tasks: number; steps: StepStats[] }> {
    return this.open.reads.bottlenecks(q);
  }

  /** One failure group of the window and (up to `limit`) its tasks, the last to fail first. */
  async failureGroup(
    fingerprint: string,
    q: FailureGroupsQuery,
    limit = 500,
  ): Promise<{ group: FailureGroup; tasks: TaskRecord[]; truncated: boolean }> {
    return this.open.reads.failureGroup(fingerprint, q, limit);
  }

  async getBulkJob(id: string): Promise<{ job: BulkJobView; items: BulkItemRecord[] }> {
    return this.engine.reads.getBulkJob(id);
  }

  listBulkJobs(limit = 20): Promise<BulkJobView[]> {
    return this.engine.reads.listBulkJobs(limit);
  }

  /** The audit log, newest first. */
  async listAudit(q: Partial<AuditQuery> = {}): Promise<AuditRecord[]> {
    return this.engine.reads.listAudit(q);
  }

  /**
   * A run against its last good run (`last_success`: the most recent completed task of the same template
   * version, else of any version) or a given task: per step, what differed, and the largest differences.
   */
  compareTask(
    taskId: string,
    against: 'last_success' | { taskId: string } = 'last_success',
    visible: (t: TaskRecord) => boolean = () => true,
  ): Promise<Comparison> {
    return this.open.reads.compareTask(taskId, against, visible);
  }

  /** Resolves with the task once it is terminal (complete, error, cancelled, resolved_manually). */
  async waitForTask(taskId: string, options: WaitOptions = {}): Promise<TaskRecord> {
    return waitForTask(this.store, this.events, this.logger, taskId, options);
  }

  /** Add handlers to this process (before start()); a name already registered is replaced. */
  registerHandlers(handlers: HandlerMap): void {
    for (const [name, h] of Object.entries(handlers)) this.handlers.register(name, h);
  }

  /** Handlers that registered templates name but this process lacks (it cannot run those steps). */
  missingHandlers(inNamespace: (namespace: string) => boolean = () => true): string[] {
    return this.catalog.missingHandlers(inNamespace);
  }

  /**
   * Which tasks changed, whichever process committed the change (PostgreSQL; SQLite: this process, plus
   * `resync` when another process sharing the file committed). For live views; ids only, batched.
   */
  onTaskChanges(listener: ChangeListener): () => void {
    return this.engine.changes.subscribe(listener);
  }

  /**
   * Receive lifecycle events matching one or more names or patterns (`step.*`, `*`, a custom event).
   * The handler's payload type follows the names: `subscribe('step.failed', e => e.payload.error_type)`.
   */
  subscribe<P extends string>(
    patterns: P | readonly P[],
    handler: (event: TaskerEvent<PayloadOf<P>>) => unknown,
    options?: SubscribeOptions,
  ): () => void {
    const list: string[] = typeof patterns === 'string' ? [patterns] : [...patterns];
    // The bus delivers only events matching the patterns, so each carries the payload PayloadOf names.
    const deliver = handler as EventHandler;
    // `exact` (unredacted, unsampled, inside the commit path) is for the engine's own telemetry only.
    return this.events.subscribe(list, deliver, { ...options, exact: false });
  }

  /** Attach a BaseSubscriber (Tasker-style: declares its events, implements handle… methods). */
  addSubscriber(subscriber: BaseSubscriber): () => void {
    return this.events.subscribe([...subscriber.subscribesTo], (e: TaskerEvent) => subscriber.dispatch(e), {
      name: subscriber.constructor.name,
    });
  }

  /**
   * Count tasks, steps, retries, timeouts, business value … into `metrics` (the seed's metric names). Off
   * until something will read them (the API plugin, a Pushgateway, a registry passed in): counting means
   * every lifecycle event is built. Idempotent; a no-op with telemetry.metrics_enabled false.
   */
  enableMetrics(): void {
    this.engine.wired.enableMetrics();
  }

  /** Start executing steps in this process. */
  start(): void {
    const engine = this.open;
    if (this.handlers.size === 0) {
      throw new TaskerError(
        'HANDLER_NOT_FOUND',
        'cannot start a worker without handlers; pass handlers (a record or a module path)',
      );
    }
    engine.worker.start();
    engine.runner.start();
    engine.pruneSchedule.start();
  }

  /** Stop claiming; let running attempts finish and commit (up to timeoutMs). A prune in progress stops. */
  async stop(timeoutMs?: number): Promise<void> {
    await Promise.all([this.engine.worker.current?.stop(timeoutMs), this.engine.pruneSchedule.stop()]);
  }

  /**
   * Retention as configured, this process's last prune (null before one), and when its worker prunes next
   * (null without a started worker or with `retention.enabled` false).
   */
  retentionStatus(): {
    retention: ResolvedOptions['retention'];
    last: PruneStatus | null;
    nextAt: number | null;
  } {
    return {
      retention: this.engine.pruner.retention,
      last: this.engine.pruner.last,
      nextAt: this.engine.pruneSchedule.nextAt,
    };
  }

  /** Counters of the running worker (ticks, claimed, committed, stale, recovered, storeErrors). */
  workerStats(): Worker['stats'] | undefined {
    return this.engine.worker.current?.stats;
  }

  whenIdle(): Promise<void> {
    return this.engine.worker.current?.whenIdle() ?? Promise.resolve();
  }

  /** The store's size on disk and when its oldest task was created. */
  storeStats(): Promise<StoreStats> {
    return this.store.storeStats();
  }

  /** One round trip to the store; throws when it does not answer. */
  ping(): Promise<void> {
    return this.store.ping();
  }

  /** null when this process runs no worker. */
  workerHealth(): { alive: boolean } | null {
    const worker = this.engine.worker.current;
    return worker ? { alive: worker.alive() } : null;
  }

  /** Whether close() has been called (every operation then fails with ENGINE_STOPPED). */
  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.stop();
    await this.engine.runner.stop();
    await this.engine.changes.close();
    await this.events.drain();
    await this.engine.wired.close();
    this.closed = true;
    await this.store.close();
  }

  /** The collaborators, once this Tasker is known to be open. */
  private get open(): TaskerParts {
    if (this.closed) throw new TaskerError('ENGINE_STOPPED', 'this Tasker has been closed');
    return this.engine;
  }
}
