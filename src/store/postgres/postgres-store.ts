/**
 * The PostgreSQL store: many worker processes on many machines share one database. Every decision is the
 * shared cycle's (store/cycle.ts) and TaskWorkspace's; this adapter supplies row locks, batched SQL
 * (PgTaskRows: see its locking rule) and LISTEN/NOTIFY.
 */
import pg from 'pg';
import type {
  AttemptRecord,
  TaskCreatedDraft,
  TaskRecord,
  TaskSnapshot,
  TransitionRecord,
} from '../../core/records.js';
import type { ArchivedTask } from '../../core/archive-format.js';
import type { PruneRule } from '../../core/retention.js';
import type { TaskWorkspace } from '../../core/task-workspace.js';
import { TaskerError } from '../../errors.js';
import type { TaskerEvent } from '../../events/catalog.js';
import { isUuid } from '../cursor.js';
import { runCycleAsync } from '../cycle.js';
import type * as port from '../port.js';
import { PgAnalytics } from './analytics.js';
import { resolvePostgres, type PostgresOptions } from './connect.js';
import { changePayloads, channelName, listenOn, parseChangePayload } from './listen.js';
import { NulSafeClient } from './nul-safe-client.js';
import { PgPool, type Client } from './pool.js';
import { PgPrune } from './prune.js';
import { PgReads } from './reads.js';
import { assertCurrent, migratePostgres, postgresSchemaStatus } from './schema.js';
import * as sql from './sql.js';
import { newTxState, PgTaskRows } from './task-rows.js';
import { PgTriage } from './triage.js';

type Mutation = { snapshot: TaskSnapshot; events: TaskerEvent[] };

export class PostgresStore implements port.TaskStore {
  readonly kind = 'postgres' as const;
  readonly location: string;
  readonly schema: string;
  private readonly db: PgPool;
  private readonly rows: PgTaskRows;
  private readonly reads: PgReads;
  private readonly triage: PgTriage;
  private readonly analytics: PgAnalytics;
  private readonly pruning: PgPrune;

  private constructor(
    pool: pg.Pool,
    private readonly clientConfig: pg.ClientConfig,
    schema: string,
    location: string,
    private readonly random: () => number,
  ) {
    this.schema = schema;
    this.location = location;
    this.db = new PgPool(pool, location, schema);
    this.rows = new PgTaskRows(this.db, this.channel, random);
    this.reads = new PgReads(this.db);
    this.triage = new PgTriage(this.db);
    this.analytics = new PgAnalytics(this.db);
    this.pruning = new PgPrune(this.db);
  }

  /**
   * Connect. With `migrate`, bring the schema up to date (serialised across processes by an advisory
   * lock); without, refuse a schema that is missing, behind, or ahead, naming what to run.
   */
  static async open(
    options: PostgresOptions & { random?: () => number; migrate?: boolean; checkSchema?: boolean },
  ): Promise<PostgresStore> {
    const r = resolvePostgres(options);
    const pool = new pg.Pool({ ...r.config, Client: NulSafeClient });
    // An idle connection killed by the server (restart, pg_terminate_backend) must not crash the process;
    // the next query gets a fresh connection, and a failed cycle is retried by the worker.
    pool.on('error', () => {});
    const store = new PostgresStore(pool, r.config, r.schema, r.location, options.random ?? Math.random);
    try {
      if (options.migrate) await store.migrate();
      else if (options.checkSchema !== false) assertCurrent(store.db, await store.schemaStatus());
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return store;
  }

  /** One channel per schema; the payload is empty: a wake-up, not a message. */
  private get channel(): string {
    return channelName('tasker_', this.schema);
  }

  private get changesChannel(): string {
    return channelName('tasker_changes_', this.schema);
  }

  listen(
    onWake: () => void,
    onError: (err: unknown) => void,
    onConnect?: () => void,
  ): Promise<() => Promise<void>> {
    // Wake on (re)connect too: notifications may have been missed while disconnected.
    return listenOn(
      this.clientConfig,
      this.channel,
      () => onWake(),
      onError,
      () => {
        onConnect?.();
        onWake();
      },
    );
  }

  /** Task ids after the commit, on a channel of their own (workers do not wake for them), in one statement. */
  async publishChanges(notice: port.ChangeNotice, origin: string): Promise<void> {
    const payloads = changePayloads(notice, origin);
    if (payloads.length === 0) return;
    await this.db.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [
      this.changesChannel,
      payloads,
    ]);
  }

  listenChanges(
    onChange: (notice: port.ChangeNotice, origin: string | null) => void,
    onError: (err: unknown) => void,
  ): Promise<() => Promise<void>> {
    let first = true;
    return listenOn(
      this.clientConfig,
      this.changesChannel,
      (payload) => {
        const { notice, origin } = parseChangePayload(payload);
        onChange(notice, origin);
      },
      onError,
      () => {
        // A reconnect may have missed changes; the first connect has nothing to catch up on.
        if (!first) onChange({ resync: 'remote' }, null);
        first = false;
      },
    );
  }

  migrate(): Promise<port.MigrationStatus> {
    return migratePostgres(this.db);
  }

  schemaStatus(): Promise<port.MigrationStatus> {
    return postgresSchemaStatus(this.db);
  }

  /** Idempotent: a second close (an owner closing after a failed health probe did) is a no-op. */
  async close(): Promise<void> {
    if (this.db.pool.ended) return;
    await this.db.pool.end();
  }

  createTasks(drafts: readonly TaskCreatedDraft[]): Promise<port.CreatedTask[]> {
    return this.db.tx((c) => this.rows.insert(c, drafts));
  }

  async cycle(input: port.CycleInput): Promise<port.CycleResult> {
    if (input.outcomes.length === 0 && !input.recoverExpiredLeases) {
      // An idle poll is one indexed query, not a transaction: an idle worker stays quiet.
      const next = await this.db.query<{ at: number | null }>(this.db.sql.nextReady, []);
      const at = next.rows[0]?.at ?? null;
      if (at === null || at > input.now)
        return { applied: [], claimed: [], recovered: 0, events: [], nextReadyAt: at, touched: [] };
    }
    const st = newTxState();
    const io = (c: Client) => this.rows.cycleIO(c, st);
    const result = await this.db.tx((c) => runCycleAsync(input, this.random, io(c)), sql.CYCLE_BEGIN);
    this.rows.publish(st);
    return result;
  }

  heartbeat(workerId: string, leases: readonly port.HeldLease[], until: number): Promise<port.HeldLease[]> {
    return this.db.tx((c) => this.rows.extendLeases(c, workerId, leases, until));
  }

  async mutateTask(
    taskId: string,
    action: (ws: TaskWorkspace) => void,
    audit?: (task: TaskRecord) => port.AuditDraft,
  ): Promise<Mutation> {
    const st = newTxState();
    const out = await this.db.tx(async (c) => {
      const done = await this.rows.mutate(c, st, taskId, action);
      if (audit) await this.triage.writeAudit(c, audit(done.snapshot.task));
      return done;
    });
    this.rows.publish(st);
    return out;
  }

  failureGroups(q: port.FailureGroupQuery): Promise<port.FailureGroupData> {
    return this.triage.failureGroups(q);
  }

  failureGroupTaskIds(q: port.FailureGroupQuery, fingerprint: string, limit: number): Promise<string[]> {
    return this.triage.failureGroupTaskIds(q, fingerprint, limit);
  }

  impactGroups(q: port.AnalyticsQuery): ReturnType<port.TaskStore['impactGroups']> {
    return this.analytics.impactGroups(q);
  }

  stepDurations(q: port.AnalyticsQuery): ReturnType<port.TaskStore['stepDurations']> {
    return this.analytics.stepDurations(q);
  }

  findPrunable(rule: PruneRule, limit: number): Promise<port.PrunableTask[]> {
    return this.pruning.find(rule, limit);
  }

  countPrunable(rules: readonly PruneRule[]): Promise<port.PruneCount[]> {
    return this.pruning.count(rules);
  }

  deleteTasks(tasks: readonly port.PrunableTask[], rule: PruneRule): Promise<string[]> {
    return this.pruning.delete(tasks, rule);
  }

  pruneAudit(before: number, limit: number): Promise<number> {
    return this.pruning.pruneAudit(before, limit);
  }

  exclusive<T>(name: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    return this.db.exclusive(`tasker.${name}.${this.schema}`, fn);
  }

  getTransitionsFor(taskIds: readonly string[]): Promise<TransitionRecord[]> {
    return this.reads.transitionsFor(taskIds);
  }

  importTasks(tasks: readonly ArchivedTask[]): Promise<{ imported: string[]; skipped: string[] }> {
    return this.pruning.importTasks(tasks);
  }

  templateRetentions(): Promise<port.StoredTemplateRetention[]> {
    return this.pruning.templateRetentions();
  }

  saveTemplateRetentions(rows: readonly port.StoredTemplateRetention[], now: number): Promise<void> {
    return this.pruning.saveTemplateRetentions(rows, now);
  }

  storeStats(): Promise<port.StoreStats> {
    return this.pruning.stats();
  }

  activityMark(): Promise<number> {
    return this.pruning.activityMark();
  }

  countAudit(before: number): Promise<number> {
    return this.pruning.countAudit(before);
  }

  appendAudit(entries: readonly port.AuditDraft[]): Promise<void> {
    return this.triage.appendAudit(entries);
  }

  listAudit(q: port.AuditQuery): Promise<port.AuditRecord[]> {
    return this.triage.listAudit(q);
  }

  createBulkJob(job: port.BulkJobRecord, items: readonly port.BulkItemDraft[], audit: port.AuditDraft) {
    return this.triage.createBulkJob(job, items, audit);
  }

  getBulkJob(id: string): Promise<port.BulkJobView | null> {
    return this.triage.getBulkJob(id);
  }

  listBulkJobs(limit: number): Promise<port.BulkJobView[]> {
    return this.triage.listBulkJobs(limit);
  }

  bulkItems(jobId: string): Promise<port.BulkItemRecord[]> {
    return this.triage.bulkItems(jobId);
  }

  leaseBulkJob(jobId: string | null, owner: string, now: number, leaseUntil: number) {
    return this.triage.leaseBulkJob(jobId, owner, now, leaseUntil);
  }

  pendingBulkItems(jobId: string, limit: number): Promise<port.BulkItemRecord[]> {
    return this.triage.pendingBulkItems(jobId, limit);
  }

  applyBulkItem: port.TaskStore['applyBulkItem'] = async (jobId, owner, position, taskId, action, now) => {
    const st = newTxState();
    const refused = new Error('refused');
    let message: string | undefined;
    try {
      const out = await this.db.tx(async (c): Promise<port.BulkItemApplied> => {
        if (!(await this.triage.holdsLease(c, jobId, owner, now)))
          return { applied: false, why: 'lease_lost' };
        if (!(await this.triage.markItem(c, jobId, position, 'done', null, now)))
          return { applied: false, why: 'not_pending' };
        try {
          return { applied: true, ...(await this.rows.mutate(c, st, taskId, action)) };
        } catch (err) {
          if (!(err instanceof TaskerError) || err.code.startsWith('DATABASE_')) throw err;
          message = err.message;
          throw refused;
        }
      });
      if (out.applied) this.rows.publish(st);
      return out;
    } catch (err) {
      if (err !== refused) throw err;
    }
    // The action was refused (the task moved on since the plan): rolled back; record why on its own.
    const marked = await this.db.tx(
      async (c) =>
        (await this.triage.holdsLease(c, jobId, owner, now)) &&
        (await this.triage.markItem(c, jobId, position, 'skipped', message ?? null, now)),
    );
    return marked ? { applied: false, why: 'skipped', message } : { applied: false, why: 'not_pending' };
  };

  finishBulkJob(jobId: string, status: port.BulkJobStatus, now: number, audit: port.AuditDraft) {
    return this.triage.finishBulkJob(jobId, status, now, audit);
  }

  getTask(taskId: string): Promise<TaskSnapshot | null> {
    return this.reads.task(taskId);
  }

  getTasks(taskIds: readonly string[]): Promise<TaskSnapshot[]> {
    const ids = taskIds.filter(isUuid);
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.tx((c) => this.rows.load(c, ids), sql.SNAPSHOT_READ);
  }

  getAttempts(taskId: string): Promise<AttemptRecord[]> {
    return this.reads.attempts([taskId]);
  }

  getTransitions(taskId: string): Promise<TransitionRecord[]> {
    return this.reads.transitions(taskId);
  }

  getAttemptsFor(taskIds: readonly string[]): Promise<AttemptRecord[]> {
    return this.reads.attempts(taskIds);
  }

  listTasks(filter: port.TaskFilter): Promise<port.TaskPage> {
    return this.reads.listTasks(filter);
  }

  countTasks(filter: port.TaskFilter): Promise<number> {
    return this.reads.countTasks(filter);
  }

  async ping(): Promise<void> {
    await this.db.query('SELECT 1', []);
  }

  activeCounts(now: number): Promise<port.ActiveCounts> {
    return this.reads.activeCounts(now);
  }

  countReady(now: number, opts: port.ReadyCountOptions = {}): Promise<{ total: number; ahead: number[] }> {
    return this.reads.countReady(now, opts);
  }

  throughput(q: port.ThroughputQuery): Promise<port.ThroughputRow[]> {
    return this.reads.throughput(q);
  }

  saveWorker(w: port.WorkerRecord): Promise<void> {
    return this.reads.saveWorker(w);
  }

  listWorkers(now: number, endedAfter: number): Promise<port.WorkerRecord[]> {
    return this.reads.listWorkers(now, endedAfter);
  }
}
