/**
 * The embedded store: SQLite through better-sqlite3, WAL mode. better-sqlite3 is synchronous, so one
 * `cycle` is one IMMEDIATE transaction run start to finish without yielding (the shared sequence of
 * store/cycle.ts, answered by SqliteTaskRows): group commit falls out of the runtime calling it once per
 * tick with every outcome gathered since the last tick.
 */
import type Database from 'better-sqlite3';
import type { TaskCreatedDraft, TaskRecord, TaskSnapshot, TransitionRecord } from '../../core/records.js';
import type { ArchivedTask } from '../../core/archive-format.js';
import type { PruneRule } from '../../core/retention.js';
import type { TaskWorkspace } from '../../core/task-workspace.js';
import { TaskerError } from '../../errors.js';
import type { TaskerEvent } from '../../events/catalog.js';
import { runCycle } from '../cycle.js';
import type * as port from '../port.js';
import { SqliteAnalytics } from './analytics.js';
import { migrateSqlite, sqliteSchemaStatus } from './migrate.js';
import { mapSqliteError, openSqlite, type SqliteOptions } from './open.js';
import { SqlitePrune } from './prune.js';
import { SqliteReads } from './reads.js';
import { copySnapshot, SqliteTaskRows } from './task-rows.js';
import { SqliteTriage } from './triage.js';

type Mutation = { snapshot: TaskSnapshot; events: TaskerEvent[] };

export class SqliteStore implements port.TaskStore {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  private readonly db: Database.Database;
  private readonly random: () => number;
  private readonly rows: SqliteTaskRows;
  private readonly reads: SqliteReads;
  private readonly triage: SqliteTriage;
  private readonly analytics: SqliteAnalytics;
  private readonly pruning: SqlitePrune;

  private constructor(db: Database.Database, location: string, random: () => number) {
    this.db = db;
    this.location = location;
    this.random = random;
    this.rows = new SqliteTaskRows(db, random);
    this.reads = new SqliteReads(db);
    this.triage = new SqliteTriage(db);
    this.analytics = new SqliteAnalytics(db);
    this.pruning = new SqlitePrune(db, (fn) => this.rows.tx(fn));
  }

  /** Open (creating the file and its folder if needed) and bring the schema up to date. */
  static open(options: SqliteOptions & { random?: () => number }): SqliteStore {
    const db = openSqlite(options);
    try {
      migrateSqlite(db, options.path);
      return new SqliteStore(db, options.path, options.random ?? Math.random);
    } catch (err) {
      db.close();
      throw mapSqliteError(err, options.path);
    }
  }

  migrate(): Promise<port.MigrationStatus> {
    return this.guard(() => migrateSqlite(this.db, this.location));
  }

  schemaStatus(): Promise<port.MigrationStatus> {
    return this.guard(() => sqliteSchemaStatus(this.db));
  }

  close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }

  createTasks(drafts: readonly TaskCreatedDraft[]): Promise<port.CreatedTask[]> {
    return this.guard(() => this.rows.tx(() => drafts.map((d) => this.rows.insertTask(d))));
  }

  cycle(input: port.CycleInput): Promise<port.CycleResult> {
    return this.guard(() => this.rows.tx(() => runCycle(input, this.random, this.rows)));
  }

  heartbeat(workerId: string, leases: readonly port.HeldLease[], until: number): Promise<port.HeldLease[]> {
    return this.guard(() => this.rows.tx(() => this.rows.extendLeases(workerId, leases, until)));
  }

  mutateTask(
    taskId: string,
    action: (ws: TaskWorkspace) => void,
    audit?: (task: TaskRecord) => port.AuditDraft,
  ): Promise<Mutation> {
    return this.guard(() =>
      this.rows.tx(() => {
        const out = this.rows.mutate(taskId, action);
        if (audit) this.triage.writeAudit(audit(out.snapshot.task));
        return out;
      }),
    );
  }

  failureGroups(q: port.FailureGroupQuery): Promise<port.FailureGroupData> {
    return this.guard(() => this.triage.failureGroups(q));
  }

  failureGroupTaskIds(q: port.FailureGroupQuery, fingerprint: string, limit: number): Promise<string[]> {
    return this.guard(() => this.triage.failureGroupTaskIds(q, fingerprint, limit));
  }

  impactGroups(q: port.AnalyticsQuery): ReturnType<port.TaskStore['impactGroups']> {
    return this.guard(() => this.analytics.impactGroups(q));
  }

  stepDurations(q: port.AnalyticsQuery): ReturnType<port.TaskStore['stepDurations']> {
    return this.guard(() => this.analytics.stepDurations(q));
  }

  findPrunable(rule: PruneRule, limit: number): Promise<port.PrunableTask[]> {
    return this.guard(() => this.pruning.find(rule, limit));
  }

  countPrunable(rules: readonly PruneRule[]): Promise<port.PruneCount[]> {
    return this.guard(() => this.pruning.count(rules));
  }

  deleteTasks(tasks: readonly port.PrunableTask[], rule: PruneRule): Promise<string[]> {
    return this.guard(() => this.pruning.delete(tasks, rule));
  }

  pruneAudit(before: number, limit: number): Promise<number> {
    return this.guard(() => this.pruning.pruneAudit(before, limit));
  }

  private readonly held = new Set<string>();

  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    if (this.held.has(name)) return { ran: false };
    this.held.add(name);
    try {
      return { ran: true, value: await fn() };
    } finally {
      this.held.delete(name);
    }
  }

  getTransitionsFor(taskIds: readonly string[]): Promise<TransitionRecord[]> {
    return this.guard(() => this.db.transaction(() => taskIds.flatMap((id) => this.reads.transitions(id)))());
  }

  importTasks(tasks: readonly ArchivedTask[]): Promise<{ imported: string[]; skipped: string[] }> {
    return this.guard(() => this.pruning.importTasks(tasks));
  }

  templateRetentions(): Promise<port.StoredTemplateRetention[]> {
    return this.guard(() => this.pruning.templateRetentions());
  }

  saveTemplateRetentions(rows: readonly port.StoredTemplateRetention[], now: number): Promise<void> {
    return this.guard(() => this.pruning.saveTemplateRetentions(rows, now));
  }

  storeStats(): Promise<port.StoreStats> {
    return this.guard(() => this.pruning.stats());
  }

  activityMark(): Promise<number> {
    return this.guard(() => this.pruning.activityMark());
  }

  countAudit(before: number): Promise<number> {
    return this.guard(() => this.pruning.countAudit(before));
  }

  appendAudit(entries: readonly port.AuditDraft[]): Promise<void> {
    return this.guard(() => this.triage.appendAudit(entries));
  }

  listAudit(q: port.AuditQuery): Promise<port.AuditRecord[]> {
    return this.guard(() => this.triage.listAudit(q));
  }

  createBulkJob(job: port.BulkJobRecord, items: readonly port.BulkItemDraft[], audit: port.AuditDraft) {
    return this.guard(() => this.triage.createBulkJob(job, items, audit));
  }

  getBulkJob(id: string): Promise<port.BulkJobView | null> {
    return this.guard(() => this.triage.getBulkJob(id));
  }

  listBulkJobs(limit: number): Promise<port.BulkJobView[]> {
    return this.guard(() => this.triage.listBulkJobs(limit));
  }

  bulkItems(jobId: string): Promise<port.BulkItemRecord[]> {
    return this.guard(() => this.triage.bulkItems(jobId));
  }

  leaseBulkJob(jobId: string | null, owner: string, now: number, leaseUntil: number) {
    return this.guard(() => this.triage.leaseBulkJob(jobId, owner, now, leaseUntil));
  }

  pendingBulkItems(jobId: string, limit: number): Promise<port.BulkItemRecord[]> {
    return this.guard(() => this.triage.pendingBulkItems(jobId, limit));
  }

  applyBulkItem: port.TaskStore['applyBulkItem'] = (jobId, owner, position, taskId, action, now) =>
    this.guard(() => {
      const item = { jobId, owner, position, now };
      const first = this.tryBulkItem(item, taskId, action);
      if (first.applied || first.why !== 'skipped') return first;
      // The action was refused (the task moved on since the plan): roll it back, record why on its own.
      const message = first.message ?? null;
      const marked = this.rows.tx(
        () =>
          this.triage.holdsLease(jobId, owner, now) &&
          this.triage.markItem(jobId, position, 'skipped', message, now),
      );
      return marked ? first : { applied: false, why: 'not_pending' };
    });

  private tryBulkItem(
    item: { jobId: string; owner: string; position: number; now: number },
    taskId: string,
    action: (ws: TaskWorkspace) => void,
  ): port.BulkItemApplied {
    const { jobId, owner, position, now } = item;
    const refused = new Error('refused');
    let message: string | undefined;
    try {
      return this.rows.tx((): port.BulkItemApplied => {
        if (!this.triage.holdsLease(jobId, owner, now)) return { applied: false, why: 'lease_lost' };
        if (!this.triage.markItem(jobId, position, 'done', null, now))
          return { applied: false, why: 'not_pending' };
        try {
          return { applied: true, ...this.rows.mutate(taskId, action) };
        } catch (err) {
          if (!(err instanceof TaskerError)) throw err;
          message = err.message;
          throw refused;
        }
      });
    } catch (err) {
      if (err !== refused) throw err;
      return { applied: false, why: 'skipped', message };
    }
  }

  finishBulkJob(jobId: string, status: port.BulkJobStatus, now: number, audit: port.AuditDraft) {
    return this.guard(() => this.triage.finishBulkJob(jobId, status, now, audit));
  }

  getTask(taskId: string): Promise<TaskSnapshot | null> {
    return this.guard(() =>
      this.rows.read(() => {
        const snap = this.rows.snapshot(taskId);
        return snap ? copySnapshot(snap) : null;
      }),
    );
  }

  getTasks(taskIds: readonly string[]): Promise<TaskSnapshot[]> {
    return this.guard(() => this.rows.read(() => this.rows.load([...taskIds]).map(copySnapshot)));
  }

  getAttempts(taskId: string) {
    return this.guard(() => this.reads.attempts(taskId));
  }

  getTransitions(taskId: string) {
    return this.guard(() => this.reads.transitions(taskId));
  }

  getAttemptsFor(taskIds: readonly string[]) {
    return this.guard(() => this.db.transaction(() => taskIds.flatMap((id) => this.reads.attempts(id)))());
  }

  listTasks(filter: port.TaskFilter): Promise<port.TaskPage> {
    return this.guard(() => this.reads.listTasks(filter));
  }

  countTasks(filter: port.TaskFilter): Promise<number> {
    return this.guard(() => this.reads.countTasks(filter));
  }

  ping(): Promise<void> {
    return this.guard(() => {
      this.db.prepare('SELECT 1').get();
    });
  }

  activeCounts(now: number): Promise<port.ActiveCounts> {
    return this.guard(() => this.reads.activeCounts(now));
  }

  countReady(now: number, opts: port.ReadyCountOptions = {}): Promise<{ total: number; ahead: number[] }> {
    return this.guard(() => this.reads.countReady(now, opts));
  }

  throughput(q: port.ThroughputQuery): Promise<port.ThroughputRow[]> {
    return this.guard(() => this.reads.throughput(q));
  }

  saveWorker(w: port.WorkerRecord): Promise<void> {
    return this.guard(() => this.reads.saveWorker(w));
  }

  listWorkers(now: number, endedAfter: number): Promise<port.WorkerRecord[]> {
    return this.guard(() => this.reads.listWorkers(now, endedAfter));
  }

  /**
   * Other processes sharing the file say nothing about what they change: `PRAGMA data_version` moves
   * when another connection commits, so a watcher polling it twice a second can at least say "resync".
   * This process's own commits reach live views through the change feed, by id.
   */
  listenChanges(
    onChange: (notice: port.ChangeNotice, origin: string | null) => void,
    onError: (err: unknown) => void,
  ): Promise<() => Promise<void>> {
    let last = this.rows.dataVersion();
    const timer = setInterval(() => {
      if (!this.db.open) return;
      try {
        const v = this.rows.dataVersion();
        if (v !== last) {
          last = v;
          onChange({ resync: 'remote' }, null);
        }
      } catch (err) {
        onError(err);
      }
    }, 500);
    timer.unref();
    return Promise.resolve(() => {
      clearInterval(timer);
      return Promise.resolve();
    });
  }

  /** Run synchronously, turning driver errors into coded TaskerErrors and the result into a promise. */
  private guard<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      // Only driver and file-system errors (they carry a string code) become DATABASE_* errors; anything
      // else is a bug or a TaskerError already and passes through as it is.
      const driverError = err instanceof Error && typeof (err as { code?: unknown }).code === 'string';
      return Promise.reject(
        driverError && !(err instanceof TaskerError) ? mapSqliteError(err, this.location) : (err as Error),
      );
    }
  }
}
