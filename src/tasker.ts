/**
 * The composition root and public library API. It wires store, templates, handlers, event bus and worker
 * by constructor injection; nothing below it constructs its own collaborators. The CLI (and later the
 * HTTP API) are thin clients of this class.
 */
import pino, { type Logger } from 'pino';
import { Registry, type RegistryContentType } from 'prom-client';
import { hostname } from 'node:os';
import { Redactor, maskValues, sensitiveValues } from './core/redact.js';
import { maskingLogger } from './telemetry/masking-logger.js';
import { formatTraceparent, parseTraceparent } from './core/trace-context.js';
import { packageInfo } from './package-root.js';
import { attachEngineMetrics, type EngineMetrics } from './telemetry/metrics.js';
import { timedStore } from './telemetry/store-timing.js';
import { attachEventLog } from './telemetry/event-log.js';
import { SlowStepMonitor, thresholdOf, watchMemory } from './telemetry/performance.js';
import { startMetricsPush, type MetricsPusher } from './telemetry/push.js';
import { TaskTracing } from './telemetry/tracing.js';
import { composeObservers, type AttemptObserver } from './runtime/attempt-observer.js';
import type { NormalizedFailure } from './errors.js';
import type { ClaimedStep } from './store/port.js';
import { deepFreeze, toJsonValue } from './core/json.js';
import { buildNewTask } from './core/new-task.js';
import type {
  AttemptRecord,
  TaskCreatedDraft,
  TaskRecord,
  TaskSnapshot,
  TransitionRecord,
} from './core/records.js';
import { TERMINAL_TASK_STATES } from './core/states.js';
import { describeTask, type TaskDescription } from './core/task-description.js';
import { withTemplateDefaults, type TaskTemplate } from './core/template.js';
import type { TaskWorkspace } from './core/task-workspace.js';
import { compileOptions, type ResolvedOptions, type TaskerOptions } from './config/options.js';
import { TaskerError, ValidationError, formatIssue } from './errors.js';
import { EventBus, type EventHandler, type SubscribeOptions } from './events/bus.js';
import { ChangeFeed, type ChangeListener } from './events/change-feed.js';
import {
  SAMPLEABLE_EVENTS,
  TASK_TERMINAL_EVENTS,
  type PayloadOf,
  type TaskerEvent,
} from './events/catalog.js';
import type { BaseSubscriber } from './events/subscriber.js';
import { HandlerRegistry, loadHandlersModule, type HandlerMap } from './runtime/handlers.js';
import { isValidCorrelationId, newCorrelationId, newWorkerId, uuidv7 } from './runtime/ids.js';
import { Worker } from './runtime/worker.js';
import type {
  ActiveCounts,
  AuditQuery,
  AuditRecord,
  BulkItemRecord,
  BulkJobView,
  TaskFilter,
  TaskPage,
  TaskStore,
  ThroughputQuery,
  ThroughputRow,
  WorkerRecord,
} from './store/port.js';
import { READY_COUNT_CAP } from './store/port.js';
import { explainWaits, type StepWait } from './core/step-waits.js';
import { openStore } from './store/open-store.js';
import { isUuid } from './store/cursor.js';
import { ContextValidator } from './templates/context-validator.js';
import { loadTemplatesFrom } from './templates/load.js';
import { TemplateRegistry } from './templates/registry.js';
import { auditEntry, LIBRARY_ACTOR, markAudited, refusal, type Actor } from './triage/audit.js';
import { BulkActions, type BulkPreview, type BulkRequest } from './triage/bulk-actions.js';
import { BulkRunner } from './triage/bulk-runner.js';
import { compareWithBaseline, type Comparison } from './triage/compare.js';
import { FailureGroups, type FailureGroupsQuery, type FailureGroupsReport } from './triage/failure-groups.js';
import type { FailureGroup } from './core/failure-groups.js';

export interface CreateTaskInput {
  namespace: string;
  name: string;
  /** Exact version; the latest registered version when omitted. */
  version?: string | undefined;
  context?: Record<string, unknown> | undefined;
  correlationId?: string | undefined;
  /** Creating twice with the same key returns the first task. */
  idempotencyKey?: string | undefined;
  tags?: string[] | undefined;
  /**
   * W3C traceparent of the span the task belongs to (e.g. the HTTP request that asked for it). With
   * tracing on and none given, the active span's context is used.
   */
  traceparent?: string | undefined;
}

export interface CreateTaskResult {
  task: TaskRecord;
  /** False when an idempotency key matched an existing task. */
  created: boolean;
}

/** Ready steps of one task whose place in the queue is counted (the rest say "ahead: unknown"). */
const MAX_RANKED_STEPS = 100;

export interface TaskDetails extends TaskDescription {
  attempts: AttemptRecord[];
}

/** A worker from the registry, with what its row says about it now. */
export interface WorkerView extends WorkerRecord {
  status: 'live' | 'stopped' | 'lost';
}

export class Tasker {
  readonly templates: TemplateRegistry;
  readonly handlers: HandlerRegistry;
  readonly events: EventBus;
  readonly logger: Logger;
  /** Masks configured sensitive keys in everything that leaves the engine. */
  readonly redactor: Redactor;
  /** Prometheus registry the engine's metrics live in (served at /tasker/metrics). */
  readonly metrics: Registry<RegistryContentType>;
  /** The telemetry settings in force. */
  readonly telemetry: ResolvedOptions['telemetry'];
  private readonly contexts = new ContextValidator();
  private worker: Worker | undefined;
  private closed = false;
  private readonly tracing: TaskTracing | undefined;
  private readonly observer: AttemptObserver | undefined;
  private engineMetrics: EngineMetrics | undefined;
  private pusher: MetricsPusher | undefined;
  private readonly detachers: Array<() => void> = [];
  private readonly changes: ChangeFeed;
  private readonly triage: { groups: FailureGroups; bulk: BulkActions; runner: BulkRunner };

  /** The store, every operation timed (telemetry.slow_query_threshold_seconds). */
  readonly store: TaskStore;

  constructor(
    store: TaskStore,
    templates: TemplateRegistry,
    handlers: HandlerRegistry,
    logger: Logger,
    private readonly opts: ResolvedOptions,
    private readonly workerId: string,
  ) {
    this.templates = templates;
    this.handlers = handlers;
    const t = opts.telemetry;
    this.telemetry = t;
    const slowAfter = t.slowQueryThresholdSeconds;
    store = timedStore(store, (operation, seconds) => {
      const slow = t.performanceMonitoring && seconds >= slowAfter;
      this.engineMetrics?.storeOperation(operation, seconds, slow);
      if (slow)
        logger.warn(
          { operation, duration_ms: Math.round(seconds * 1000), threshold_ms: Math.round(slowAfter * 1000) },
          `slow store operation: ${operation} took ${Math.round(seconds * 1000)} ms`,
        );
    });
    this.store = store;
    this.redactor = new Redactor(opts.filterParameters, opts.filterMask);
    this.changes = new ChangeFeed(store, logger);
    const groups = new FailureGroups(store, templates, opts.now);
    const runner = new BulkRunner(
      store,
      {
        owner: workerId,
        leaseMs: opts.leaseMs,
        pollMs: Math.min(1000, opts.leaseMs),
        now: opts.now,
        committed: (snapshot, events, abort) => {
          this.committed(snapshot, events);
          for (const id of abort) this.worker?.abortStep(id, 'task cancelled');
        },
      },
      logger,
    );
    this.triage = { groups, bulk: new BulkActions(store, groups, opts.now, () => runner.kick()), runner };
    // Every line the engine (and a handler's ctx.log) writes passes the redactor.
    this.logger = logger.child(
      {},
      {
        formatters: {
          log: (o) => this.redactor.redact(o),
          bindings: (b) => this.redactor.redact(b),
        },
      },
    );
    this.metrics = t.registry ?? new Registry<RegistryContentType>();
    if (!t.registry && t.metricsFormat === 'openmetrics')
      this.metrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    this.events = new EventBus({
      onError: ({ subscriber, event, error, kind }) => {
        this.engineMetrics?.subscriberError(subscriber, event);
        this.logger.error(
          { subscriber, event, err: error, kind },
          `event subscriber ${kind === 'dropped' ? 'fell behind' : 'threw'}`,
        );
      },
      samplingRate: t.eventSamplingRate,
      sampleable: SAMPLEABLE_EVENTS,
      filtered: t.filteredEvents,
      onWithheld: (name) => this.engineMetrics?.eventWithheld(name),
      present: (e) => this.redactEvent(e),
    });
    const observers: AttemptObserver[] = [];
    if (t.tracing) {
      const tracing = new TaskTracing(t.tracerProvider, packageInfo().version, t.traceSamplingRate);
      this.tracing = tracing;
      observers.push(tracing);
      this.detachers.push(
        this.events.subscribe([...TaskTracing.EVENTS], (e) => tracing.onEvent(e), {
          name: 'otel-task-spans',
          exact: true,
        }),
        () => tracing.flush(),
      );
    }
    if (t.performanceMonitoring) {
      observers.push(
        new SlowStepMonitor(this.events, {
          slowStepThresholdMs: t.slowStepThresholdMs,
          stepTemplate: (ns, name, version, step) =>
            this.templates.find(ns, name, version)?.steps.find((s) => s.name === step),
          onSlow: (ns, name, step) => this.engineMetrics?.stepSlow(ns, name, step),
        }),
      );
    }
    this.observer = composeObservers(observers);
    if (t.structuredLogging) this.detachers.push(attachEventLog(this.events, this.logger));
    if (t.performanceMonitoring) this.detachers.push(watchMemory(this.events, t.memoryThresholdBytes));
    // Counting costs every event being built: start when someone will read the counts.
    if (t.registry || t.push) this.enableMetrics();
    if (t.push && this.engineMetrics) {
      this.pusher = startMetricsPush(
        this.metrics,
        {
          endpoint: t.push.endpoint,
          job: t.metricPrefix,
          instance: t.push.includeInstanceLabels ? `${hostname()}:${process.pid}` : undefined,
          intervalMs: t.push.intervalMs,
          exportTimeoutMs: t.push.exportTimeoutMs,
          jobTimeoutMs: t.push.jobTimeoutMs,
          retryAttempts: t.push.retryAttempts,
        },
        this.logger,
        () => this.engineMetrics?.pushFailed(),
      );
    }
  }

  /** What ordinary subscribers see: user data (context, results, custom payloads) redacted. */
  private redactEvent(e: TaskerEvent): TaskerEvent {
    const p = e.payload as unknown as Record<string, unknown>;
    if (p.context === undefined && p.results === undefined && p.payload === undefined) return e;
    return { name: e.name, payload: this.redactor.redact(e.payload) };
  }

  /**
   * A handler's `ctx.log`. Keys are masked by the engine logger's formatter (and in the bindings of the
   * children a handler makes); a handler may still log its task's sensitive values under another name or
   * inside its message, so those values are masked in every argument too.
   */
  private handlerLogger(claimed: ClaimedStep, fields: Record<string, unknown>): Logger {
    return maskingLogger(
      this.logger.child(fields),
      sensitiveValues(this.redactor, claimed.task.context),
      this.redactor.mask,
      (o) => this.redactor.redact(o),
    );
  }

  /** A failure message may echo the task's sensitive values (a handler interpolating them): mask them. */
  private maskFailure(claimed: ClaimedStep, failure: NormalizedFailure): NormalizedFailure {
    const values = sensitiveValues(this.redactor, claimed.task.context);
    if (values.length === 0) return failure;
    return { ...failure, message: maskValues(failure.message, values, this.redactor.mask) };
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
    this.assertOpen();
    const drafts = inputs.map((input, i) => {
      try {
        return this.draft(input);
      } catch (err) {
        if (inputs.length > 1 && err instanceof TaskerError) {
          err.message = `tasks[${i}]: ${err.message}`;
        }
        throw err;
      }
    });
    const results = await this.store.createTasks(drafts);
    for (const r of results) this.events.publish(r.events);
    this.changes.touch(results.filter((r) => r.created).map((r) => r.task.id));
    if (results.some((r) => r.created)) this.worker?.notify();
    return results.map(({ task, created }) => ({ task, created }));
  }

  private draft(input: CreateTaskInput): TaskCreatedDraft {
    const template = this.templates.get(input.namespace, input.name, input.version);
    const context = input.context ?? {};
    if (typeof context !== 'object' || context === null || Array.isArray(context)) {
      throw new TaskerError(
        'INVALID_ARGUMENT',
        `context: expected a JSON object, got ${Array.isArray(context) ? 'an array' : typeof context}`,
        { field: 'context' },
      );
    }
    // Validate what will be stored, not what was given: JSON turns 1e400 into null, a Date into a string.
    const stored = toJsonValue(context, 'context') as Record<string, unknown>;
    this.contexts.validate(template, stored);
    if (this.handlers.size > 0) this.assertHandlers(template);
    const tags = input.tags ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string' && t.length > 0)) {
      throw new TaskerError('INVALID_ARGUMENT', 'tags: expected a list of non-empty strings', {
        field: 'tags',
      });
    }
    const now = this.opts.now();
    let correlationId = input.correlationId;
    if (correlationId !== undefined && !isValidCorrelationId(correlationId)) {
      const replacement = newCorrelationId(now);
      this.logger.warn(
        { given: correlationId.slice(0, 120), correlation_id: replacement },
        'invalid correlation id replaced (expected [A-Za-z0-9][A-Za-z0-9_-]*, at most 100 characters)',
      );
      correlationId = replacement;
    }
    return buildNewTask(template, {
      id: uuidv7(now),
      traceparent: this.traceparentFor(input.traceparent),
      // The engine's own frozen copy: a caller reusing its object, or a handler mutating it, changes nothing.
      context: stored,
      correlationId: correlationId ?? newCorrelationId(now),
      idempotencyKey: input.idempotencyKey ?? null,
      tags: [...tags],
      now,
    });
  }

  private traceparentFor(given: string | undefined): string | null {
    if (given !== undefined) {
      const parsed = typeof given === 'string' ? parseTraceparent(given) : null;
      if (!parsed) {
        throw new TaskerError(
          'INVALID_ARGUMENT',
          `traceparent: expected a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>), got ${JSON.stringify(given).slice(0, 120)}`,
          { field: 'traceparent' },
        );
      }
      return formatTraceparent(parsed);
    }
    return this.tracing?.activeTraceparent() ?? null;
  }

  async getTask(taskId: string): Promise<TaskDetails> {
    const snap = await this.store.getTask(taskId);
    if (!snap) throw new TaskerError('TASK_NOT_FOUND', `no task with id ${taskId}`, { taskId });
    const attempts = await this.store.getAttempts(taskId);
    return { ...describeTask(snap, attempts), attempts };
  }

  listTasks(filter: TaskFilter = {}): Promise<TaskPage> {
    if (
      filter.limit !== undefined &&
      (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > 1000)
    ) {
      throw new TaskerError(
        'INVALID_ARGUMENT',
        `limit: expected an integer from 1 to 1000, got ${filter.limit}`,
        { field: 'limit' },
      );
    }
    return this.store.listTasks(filter);
  }

  /** How many tasks match a filter (cursor and limit ignored). */
  countTasks(filter: TaskFilter = {}): Promise<number> {
    return this.store.countTasks(filter);
  }

  /** getTask() for many tasks in two reads; unknown ids are left out. */
  async describeTasks(taskIds: readonly string[]): Promise<TaskDetails[]> {
    const [snaps, attempts] = await Promise.all([
      this.store.getTasks(taskIds),
      this.store.getAttemptsFor(taskIds),
    ]);
    const byTask = new Map<string, AttemptRecord[]>();
    for (const a of attempts) {
      const list = byTask.get(a.taskId);
      if (list) list.push(a);
      else byTask.set(a.taskId, [a]);
    }
    return snaps.map((s) => {
      const own = byTask.get(s.task.id) ?? [];
      return { ...describeTask(s, own), attempts: own };
    });
  }

  /** Snapshots (task and steps) of several tasks in one read; unknown ids are left out. */
  taskSnapshots(taskIds: readonly string[]): Promise<TaskSnapshot[]> {
    return this.store.getTasks(taskIds);
  }

  /** The attempts of several tasks in one read. */
  attemptsOf(taskIds: readonly string[]): Promise<AttemptRecord[]> {
    return this.store.getAttemptsFor(taskIds);
  }

  /** Averages over (up to 200 of) the tasks completed that were created since `since` (health report). */
  async recentPerformance(
    since: number,
  ): Promise<{ avgTaskSeconds: number | null; avgStepSeconds: number | null; sampledTasks: number }> {
    const { tasks } = await this.store.listTasks({ status: ['complete'], createdAfter: since, limit: 200 });
    const durations = tasks.flatMap((t) =>
      t.finishedAt === null ? [] : [t.finishedAt - (t.startedAt ?? t.createdAt)],
    );
    const attempts = tasks.length ? await this.store.getAttemptsFor(tasks.map((t) => t.id)) : [];
    const avg = (xs: number[]) =>
      xs.length ? Math.round(xs.reduce((a, b) => a + b, 0) / xs.length) / 1000 : null;
    return {
      avgTaskSeconds: avg(durations),
      avgStepSeconds: avg(attempts.filter((a) => a.outcome === 'complete').map((a) => a.durationMs)),
      sampledTasks: tasks.length,
    };
  }

  /**
   * Worker processes from the shared registry: every live one, and those that stopped or were lost
   * (stopped heartbeating, so their leases expire) within `windowMs`. In-flight counts come from the
   * leases each holds now.
   */
  async listWorkers(
    windowMs = 3_600_000,
    namespaces: readonly string[] | null = null,
  ): Promise<WorkerView[]> {
    const now = this.opts.now();
    const rows = await this.store.listWorkers(now, now - windowMs);
    // Seen from some namespaces only, a worker is the handlers it has for them, or nothing.
    const visible = namespaces === null ? null : this.templates.handlerNames((ns) => namespaces.includes(ns));
    return rows.flatMap((w): WorkerView[] => {
      const handlers = visible ? w.handlers.filter((h) => visible.has(h)) : w.handlers;
      if (visible && handlers.length === 0) return [];
      const status = w.stoppedAt !== null ? 'stopped' : w.expiresAt < now ? 'lost' : 'live';
      return [{ ...w, handlers, status }];
    });
  }

  /** Tasks created, completed and failed per time bucket and template (aggregated by the store). */
  throughput(q: ThroughputQuery): Promise<ThroughputRow[]> {
    return this.store.throughput(q);
  }

  /** Running tasks per template and ready steps per namespace, now. */
  activeCounts(): Promise<ActiveCounts> {
    return this.store.activeCounts(this.opts.now());
  }

  /** Ready, unclaimed steps now (in the given namespaces; null: all). */
  async countReady(namespaces: readonly string[] | null = null): Promise<number> {
    return (await this.store.countReady(this.opts.now(), { namespaces })).total;
  }

  /**
   * Why each step of a task that is not complete or resolved is waiting, with the evidence
   * (core/step-waits.ts). Backlog figures count only steps of `namespaces` (null: all).
   */
  async explainWaits(
    d: TaskDescription,
    namespaces: readonly string[] | null = null,
  ): Promise<Map<string, StepWait>> {
    const now = this.opts.now();
    // Each ready step's place in the queue: one statement for all of them (a wide DAG has many).
    const readyAts = [
      ...new Set(
        d.steps.flatMap((s) =>
          s.readyAt !== null &&
          s.readyAt <= now &&
          (s.status === 'pending' || s.status === 'waiting_for_retry')
            ? [s.readyAt]
            : [],
        ),
      ),
    ].slice(0, MAX_RANKED_STEPS);
    const [workers, ready] = await Promise.all([
      this.listWorkers(undefined, namespaces),
      this.store.countReady(now, { before: readyAts, namespaces }),
    ]);
    const aheadBy = new Map(readyAts.map((at, i) => [at, ready.ahead[i] ?? 0]));
    const live = workers.filter((w) => w.status === 'live');
    const backlog = ready.total;
    return explainWaits(d, {
      now,
      liveWorkers: live,
      countCap: READY_COUNT_CAP,
      goneWorkers: new Set(workers.filter((w) => w.status !== 'live').map((w) => w.id)),
      backlog,
      aheadOf: (at) => aheadBy.get(at) ?? null,
    });
  }

  /** One round trip to the store; throws when it does not answer. */
  ping(): Promise<void> {
    return this.store.ping();
  }

  /** null when this process runs no worker. */
  workerHealth(): { alive: boolean } | null {
    return this.worker ? { alive: this.worker.alive() } : null;
  }

  /** Handlers that registered templates name but this process lacks (it cannot run those steps). */
  missingHandlers(inNamespace: (namespace: string) => boolean = () => true): string[] {
    return [...this.templates.handlerNames(inNamespace)].filter((h) => !this.handlers.has(h)).sort();
  }

  /**
   * Count tasks, steps, retries, timeouts, business value … into `metrics` (the seed's metric names). Off
   * until something will read them (the API plugin, a Pushgateway, a registry passed in): counting means
   * every lifecycle event is built. Idempotent; a no-op with telemetry.metrics_enabled false.
   */
  enableMetrics(): void {
    if (this.engineMetrics || !this.telemetry.metrics) return;
    this.engineMetrics = attachEngineMetrics(this.events, {
      registry: this.metrics,
      prefix: this.telemetry.metricPrefix,
      version: packageInfo().version,
      tierLabels: this.telemetry.tierLabels,
      templateOf: (ns, name, version) => this.templates.find(ns, name, version),
      templates: () => this.templates.list(),
      readGauges: () => this.store.activeCounts(this.opts.now()),
      steps: () =>
        this.templates.list().flatMap((t) =>
          t.steps.map((s) => ({
            namespace: t.namespace,
            name: t.name,
            version: t.version,
            step: s.name,
            slaSeconds: thresholdOf(s, this.telemetry.slowStepThresholdMs).ms / 1000,
          })),
        ),
    });
  }

  /** Whether close() has been called (every operation then fails with ENGINE_STOPPED). */
  get isClosed(): boolean {
    return this.closed;
  }

  getTransitions(taskId: string): Promise<TransitionRecord[]> {
    return this.store.getTransitions(taskId);
  }

  /** Cancel a task; its running attempts are aborted (here at once, in other processes at their next heartbeat). */
  async cancelTask(taskId: string, reason: string | null = null, by: Actor = {}): Promise<TaskSnapshot> {
    let running: number[] = [];
    const snapshot = await this.mutate(
      taskId,
      (ws) => {
        running = ws.steps.filter((s) => s.status === 'in_progress').map((s) => s.id);
        ws.cancel(this.opts.now(), reason);
      },
      { action: 'task.cancel', reason, by },
    );
    for (const id of running) this.worker?.abortStep(id, 'task cancelled');
    return snapshot;
  }

  /** Run a failed task's failed steps again (completed steps are kept). */
  retryTask(taskId: string, reason: string | null = null, by: Actor = {}): Promise<TaskSnapshot> {
    return this.mutate(taskId, (ws) => ws.retry(this.opts.now(), reason), {
      action: 'task.retry',
      reason,
      by,
    });
  }

  async resolveStep(
    taskId: string,
    stepName: string,
    results: unknown = null,
    by: Actor & { reason?: string | null } = {},
  ): Promise<TaskSnapshot> {
    const stored = toJsonValue(results, `results for step ${stepName}`);
    return await this.mutate(taskId, (ws) => ws.resolveStep(stepName, stored, this.opts.now()), {
      action: 'step.resolve',
      reason: by.reason ?? null,
      by,
      detail: { step: stepName },
    });
  }

  resolveTask(taskId: string, reason: string | null = null, by: Actor = {}): Promise<TaskSnapshot> {
    return this.mutate(taskId, (ws) => ws.resolveTask(this.opts.now(), reason), {
      action: 'task.resolve',
      reason,
      by,
    });
  }

  /**
   * Failing attempts of a time window grouped by cause (template, step, error type and the message with
   * its ids and numbers masked), and running tasks that are stuck, ranked by revenue at risk.
   */
  async failureGroups(q: FailureGroupsQuery): Promise<FailureGroupsReport> {
    this.assertOpen();
    return this.triage.groups.report(checkRange(q));
  }

  /** One failure group of the window and (up to `limit`) its tasks, the last to fail first. */
  async failureGroup(
    fingerprint: string,
    q: FailureGroupsQuery,
    limit = 500,
  ): Promise<{ group: FailureGroup; tasks: TaskRecord[]; truncated: boolean }> {
    this.assertOpen();
    const range = checkRange(q);
    const { group, taskIds: ids } = await this.triage.groups.lookup(fingerprint, range, limit + 1);
    const byId = new Map((await this.store.getTasks(ids.slice(0, limit))).map((s) => [s.task.id, s.task]));
    const tasks = ids.slice(0, limit).flatMap((id) => byId.get(id) ?? []);
    return { group, tasks, truncated: ids.length > limit };
  }

  /** What a bulk action would do, task by task; changes nothing. */
  previewBulkAction(req: BulkRequest): Promise<BulkPreview> {
    this.assertOpen();
    return this.triage.bulk.preview(req);
  }

  /**
   * Record a bulk action as a job and run it in the background (in this process, or in any other with
   * the store open should this one stop). A refusal (bad input, too many tasks) is audited too.
   */
  async startBulkAction(req: BulkRequest): Promise<BulkJobView> {
    this.assertOpen();
    this.triage.runner.start();
    try {
      return await this.triage.bulk.start(req);
    } catch (err) {
      const action = (req as Partial<BulkRequest> | null)?.spec?.action;
      const known = ['retry', 'cancel', 'resolve_step'].includes(action as string);
      await this.recordRefusal(`bulk.${known ? (action as string) : 'unknown'}`, err, {
        actor: req?.actor,
        reason: typeof req?.reason === 'string' ? req.reason : null,
        filter: (req?.filterAsGiven ?? req?.filter ?? null) as Record<string, unknown> | null,
      });
      throw err;
    }
  }

  async getBulkJob(id: string): Promise<{ job: BulkJobView; items: BulkItemRecord[] }> {
    const job = typeof id === 'string' ? await this.store.getBulkJob(id) : null;
    if (!job) throw new TaskerError('BULK_JOB_NOT_FOUND', `no bulk job with id ${String(id)}`, { id });
    return { job, items: await this.store.bulkItems(id) };
  }

  listBulkJobs(limit = 20): Promise<BulkJobView[]> {
    return this.store.listBulkJobs(limit);
  }

  /** Stop a running bulk job: tasks not yet acted on are skipped. */
  async stopBulkJob(id: string, reason: string, by: Actor = {}): Promise<BulkJobView> {
    const { job } = await this.getBulkJob(id);
    const actor = by.actor ?? LIBRARY_ACTOR;
    const now = this.opts.now();
    const stopped = await this.store.finishBulkJob(
      id,
      'stopped',
      now,
      auditEntry(now, { actor, action: 'bulk.stop', reason, jobId: id, namespaces: job.namespaces ?? [] }),
    );
    if (!stopped) {
      throw new TaskerError(
        'ILLEGAL_TRANSITION',
        `bulk job ${id} is ${job.status}; only a running job can be stopped`,
        {
          id,
          status: job.status,
        },
      );
    }
    return (await this.getBulkJob(id)).job;
  }

  /** Pick up bulk jobs left running (by a process that stopped) and run new ones here. */
  runBulkJobs(): void {
    this.assertOpen();
    this.triage.runner.start();
  }

  /** The audit log, newest first. */
  async listAudit(q: Partial<AuditQuery> = {}): Promise<AuditRecord[]> {
    const limit = q.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new TaskerError('INVALID_ARGUMENT', `limit: expected an integer from 1 to 1000, got ${limit}`, {
        field: 'limit',
      });
    return this.store.listAudit({ ...q, limit });
  }

  /** Write an audit entry saying an action was refused (the HTTP API's own refusals: scope, input). */
  async recordRefusal(
    action: string,
    err: unknown,
    fields: {
      actor?: string | undefined;
      reason?: string | null | undefined;
      taskIds?: string[];
      namespaces?: string[];
      filter?: Record<string, unknown> | null;
    } = {},
  ): Promise<void> {
    markAudited(err);
    // An id that names no task cannot be linked to one (PostgreSQL keys the link by uuid); the entry keeps
    // what the caller sent, so "someone tried to retry `-1`" is still on record.
    const ids = fields.taskIds ?? [];
    const malformed = ids.filter((id) => !isUuid(id)).map((id) => id.slice(0, 200));
    try {
      await this.store.appendAudit([
        auditEntry(this.opts.now(), {
          ...fields,
          taskIds: ids.filter(isUuid).map((id) => id.toLowerCase()),
          actor: fields.actor ?? LIBRARY_ACTOR,
          action,
          outcome: 'refused',
          detail: { ...refusal(err), ...(malformed.length ? { given_task_ids: malformed } : {}) },
        }),
      ]);
    } catch (auditErr) {
      // The caller gets the refusal either way; a store too broken to audit it is logged.
      this.logger.error({ err: auditErr, action }, 'could not write the audit entry of a refused action');
    }
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
    this.assertOpen();
    return compareWithBaseline(this.store, taskId, against, this.opts.now(), visible);
  }

  /** Resolves with the task once it is terminal (complete, error, cancelled, resolved_manually). */
  async waitForTask(
    taskId: string,
    options: { timeoutMs?: number; pollMs?: number } = {},
  ): Promise<TaskRecord> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const pollMs = options.pollMs ?? 200;
    for (const [field, v] of [
      ['timeoutMs', timeoutMs],
      ['pollMs', pollMs],
    ] as const) {
      if (!Number.isFinite(v) || v <= 0) {
        throw new TaskerError(
          'INVALID_ARGUMENT',
          `${field}: expected a positive number of milliseconds, got ${v}`,
          {
            field,
          },
        );
      }
    }
    const deadline = Date.now() + timeoutMs;
    const isDone = (t: TaskRecord) => TERMINAL_TASK_STATES.has(t.status) || t.status === 'error';
    for (;;) {
      let snap: TaskSnapshot | null | undefined;
      try {
        snap = await this.store.getTask(taskId);
      } catch (err) {
        // A dropped connection is not the task's fault: keep waiting (the next poll reconnects).
        if (!(err instanceof TaskerError && err.code === 'DATABASE_UNAVAILABLE') || Date.now() >= deadline)
          throw err;
        this.logger.warn({ err, task_id: taskId }, 'waiting for a task: store unavailable, retrying');
        await new Promise((r) => setTimeout(r, pollMs));
        continue;
      }
      if (!snap) throw new TaskerError('TASK_NOT_FOUND', `no task with id ${taskId}`, { taskId });
      if (isDone(snap.task)) return snap.task;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new TaskerError(
          'WAIT_TIMEOUT',
          `task ${taskId} still ${snap.task.status} after ${timeoutMs} ms`,
          {
            taskId,
            status: snap.task.status,
          },
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(pollMs, left));
        const off = this.events.subscribe([...TASK_TERMINAL_EVENTS], (e) => {
          if (e.payload.task_id === taskId) done();
        });
        function done() {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    }
  }

  /**
   * Which tasks changed, whichever process committed the change (PostgreSQL; SQLite: this process, plus
   * `resync` when another process sharing the file committed). For live views; ids only, batched.
   */
  onTaskChanges(listener: ChangeListener): () => void {
    return this.changes.subscribe(listener);
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

  /** Start executing steps in this process. */
  start(): void {
    this.assertOpen();
    if (this.handlers.size === 0) {
      throw new TaskerError(
        'HANDLER_NOT_FOUND',
        'cannot start a worker without handlers; pass handlers (a record or a module path)',
      );
    }
    this.worker ??= new Worker(this.store, this.handlers, this.events, this.logger, {
      observer: this.observer,
      maskFailure: (claimed, failure) => this.maskFailure(claimed, failure),
      handlerLogger: (claimed, fields) => this.handlerLogger(claimed, fields),
      workerId: this.workerId,
      concurrency: this.opts.concurrency,
      perTaskConcurrency: this.opts.perTaskConcurrency,
      leaseMs: this.opts.leaseMs,
      heartbeatMs: this.opts.heartbeatMs,
      pollMs: this.opts.pollMs,
      recoveryIntervalMs: this.opts.recoveryIntervalMs,
      now: this.opts.now,
      registry: this.opts.workerRegistry ? { version: packageInfo().version } : undefined,
      onCommitted: (ids) => this.changes.touch(ids),
    });
    this.worker.start();
    this.triage.runner.start();
  }

  /** Stop claiming; let running attempts finish and commit (up to timeoutMs). */
  async stop(timeoutMs?: number): Promise<void> {
    await this.worker?.stop(timeoutMs);
  }

  /** Counters of the running worker (ticks, claimed, committed, stale, recovered, storeErrors). */
  workerStats(): Worker['stats'] | undefined {
    return this.worker?.stats;
  }

  whenIdle(): Promise<void> {
    return this.worker?.whenIdle() ?? Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.stop();
    await this.triage.runner.stop();
    await this.changes.close();
    await this.events.drain();
    for (const off of this.detachers) off();
    await this.pusher?.stop(); // the final push, while the metrics are still registered
    this.engineMetrics?.detach();
    this.closed = true;
    await this.store.close();
  }

  private async mutate(
    taskId: string,
    action: (ws: TaskWorkspace) => void,
    audit: { action: string; reason: string | null; by: Actor; detail?: Record<string, unknown> },
  ): Promise<TaskSnapshot> {
    this.assertOpen();
    const actor = audit.by.actor ?? LIBRARY_ACTOR;
    let out: Awaited<ReturnType<TaskStore['mutateTask']>>;
    try {
      out = await this.store.mutateTask(taskId, action, (task) =>
        auditEntry(this.opts.now(), {
          actor,
          action: audit.action,
          reason: audit.reason,
          taskIds: [task.id],
          namespaces: [task.namespace],
          detail: audit.detail ?? null,
        }),
      );
    } catch (err) {
      if (err instanceof TaskerError && !err.code.startsWith('DATABASE_')) {
        // Named by the task's namespace (when it exists), so its namespace's operators see the refusal.
        const ns = err.code === 'TASK_NOT_FOUND' ? null : (await this.store.getTask(taskId))?.task.namespace;
        await this.recordRefusal(audit.action, err, {
          actor,
          reason: audit.reason,
          taskIds: [taskId],
          namespaces: ns ? [ns] : [],
        });
      }
      throw err;
    }
    this.committed(out.snapshot, out.events);
    return out.snapshot;
  }

  /** After an operator action commits: tell subscribers, live views and this process's worker. */
  private committed(snapshot: TaskSnapshot, events: TaskerEvent[]): void {
    this.events.publish(events);
    this.changes.touch([snapshot.task.id]);
    this.worker?.notify();
  }

  private assertHandlers(template: TaskTemplate): void {
    const missing = template.steps.filter((s) => !this.handlers.has(s.handler));
    if (missing.length === 0) return;
    throw new ValidationError(
      'HANDLER_NOT_FOUND',
      `cannot create ${template.namespace}/${template.name}@${template.version}: no handler registered for`,
      missing.map((s) => ({
        path: `steps.${s.name}.handler`,
        message: `unknown handler "${s.handler}"`,
        file: template.source,
      })),
      { template: `${template.namespace}/${template.name}@${template.version}` },
    );
  }

  private assertOpen(): void {
    if (this.closed) throw new TaskerError('ENGINE_STOPPED', 'this Tasker has been closed');
  }
}

/** Open the store, load templates and handlers, and return a ready (not yet started) Tasker. */
export async function createTasker(options: TaskerOptions = {}): Promise<Tasker> {
  const opts = compileOptions(options);
  const logger =
    options.logger === false
      ? pino({ level: 'silent' })
      : (options.logger ?? pino({ level: process.env.TASKER_LOG_LEVEL ?? 'info' }, pino.destination(2)));

  const registry = new TemplateRegistry();
  const sources =
    options.templates === undefined
      ? []
      : Array.isArray(options.templates)
        ? options.templates
        : [options.templates];
  const handlerMap: HandlerMap =
    typeof options.handlers === 'string'
      ? await loadHandlersModule(options.handlers)
      : (options.handlers ?? {});
  const handlers = new HandlerRegistry(handlerMap);
  for (const src of sources) {
    if (typeof src === 'string') {
      const { templates, issues } = await loadTemplatesFrom(
        src,
        handlers.size > 0 ? { handlerNames: handlers.names() } : {},
      );
      if (issues.length > 0) {
        throw new ValidationError('TEMPLATE_INVALID', `invalid task templates in ${src}:`, issues, {
          source: src,
        });
      }
      for (const t of templates) registry.register(deepFreeze(t));
    } else {
      // A private frozen copy: handlers receive handler_config by reference and must not change the template.
      registry.register(deepFreeze(withTemplateDefaults(structuredClone(src))));
    }
  }

  const store =
    options.store ??
    (await openStore(opts, { migrate: options.migrate ?? false, postgresSchema: options.postgresSchema }));
  try {
    return new Tasker(store, registry, handlers, logger, opts, options.workerId ?? newWorkerId());
  } catch (err) {
    // Nothing else holds the store yet: a Tasker that could not be built must not leave it open.
    if (!options.store) await store.close();
    throw err;
  }
}

export { formatIssue };

/** A time window's length must be a positive number of milliseconds, at most 31 days. */
function checkRange<Q extends FailureGroupsQuery>(q: Q): Q {
  const r = (q as Partial<FailureGroupsQuery> | null)?.rangeMs;
  if (typeof r !== 'number' || !Number.isFinite(r) || r <= 0 || r > 31 * 86_400_000) {
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `rangeMs: expected a window in milliseconds (at most 31 days), got ${String(r)}`,
      {
        field: 'rangeMs',
      },
    );
  }
  return q;
}
