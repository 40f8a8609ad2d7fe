/**
 * The embedded store: SQLite through better-sqlite3, WAL mode. better-sqlite3 is synchronous, so one
 * `cycle` is one IMMEDIATE transaction run start to finish without yielding: group commit falls out of
 * the runtime calling it once per tick with every outcome gathered since the last tick.
 */
import type Database from 'better-sqlite3';
import { buildTaskCreatedEvent } from '../../core/new-task.js';
import type { StepOutcome } from '../../core/outcomes.js';
import type {
  AttemptRecord,
  TaskCreatedDraft,
  TaskRecord,
  TaskSnapshot,
  TransitionRecord,
} from '../../core/records.js';
import { CyclePlanner, type StepRef } from '../../core/cycle-planner.js';
import { TaskWorkspace } from '../../core/task-workspace.js';
import { businessKeys } from '../../core/business-impact.js';
import { attemptCause } from '../../core/failure-groups.js';
import { SqliteTriage } from './triage.js';
import { TaskerError } from '../../errors.js';
import type { TaskerEvent } from '../../events/catalog.js';
import type {
  AuditDraft,
  AuditQuery,
  AuditRecord,
  BulkItemApplied,
  BulkItemDraft,
  BulkItemRecord,
  BulkJobRecord,
  BulkJobStatus,
  BulkJobView,
  FailureGroupData,
  FailureGroupQuery,
  ActiveCounts,
  CreatedTask,
  CycleInput,
  HeldLease,
  CycleResult,
  MigrationStatus,
  TaskFilter,
  TaskPage,
  ReadyCountOptions,
  ChangeNotice,
  TaskStore,
  ThroughputQuery,
  ThroughputRow,
  WorkerRecord,
} from '../port.js';
import { READY_COUNT_CAP, WORKER_ROW_RETENTION_MS } from '../port.js';
import { encodeCursor } from '../cursor.js';
import { BatchInsert } from './batch-insert.js';
import { LATEST_SQLITE_VERSION, SQLITE_MIGRATIONS } from './migrations.js';
import { statusOf } from '../migration.js';
import { mapSqliteError, openSqlite, type SqliteOptions } from './open.js';
import {
  attemptFromRow,
  resultsJson,
  stepFromRow,
  taskFromRow,
  transitionFromRow,
  type AttemptRow,
  type StepRow,
  type TaskRow,
  type TransitionRow,
  type WorkerRow,
  workerFromRow,
} from '../rows.js';
import { SnapshotCache } from '../snapshot-cache.js';
import { taskWhere } from '../task-filter.js';
import { foldThroughput, throughputSql, type ThroughputGroup } from '../throughput-sql.js';
import { jsonText } from '../json-text.js';

type Stmt = Database.Statement;

/** Recovery looks at this many expired leases per cycle, so one cycle stays short after a mass crash. */
const RECOVERY_BATCH = 100;

export class SqliteStore implements TaskStore {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  private readonly db: Database.Database;
  private readonly s: Record<
    | 'selectTask'
    | 'selectTaskByKey'
    | 'selectSteps'
    | 'insertTask'
    | 'insertTag'
    | 'insertStep'
    | 'updateTask'
    | 'updateStep'
    | 'selectExpired'
    | 'selectNextReady'
    | 'heartbeat'
    | 'selectAttempts'
    | 'selectTransitions',
    Stmt
  >;
  private readonly random: () => number;
  private readonly triage: SqliteTriage;
  private readonly cache = new SnapshotCache(20_000);
  private readonly readyStatements = new Map<string, Stmt>();
  private readonly dataVersion: Database.Statement;
  private readonly transitionRows: BatchInsert;
  private readonly attemptRows: BatchInsert;
  /** Rows appended during the current transaction, written in bulk before it commits. */
  private pendingTransitions: unknown[][] = [];
  private pendingAttempts: unknown[][] = [];

  private constructor(db: Database.Database, location: string, random: () => number) {
    this.db = db;
    this.location = location;
    this.random = random;
    this.triage = new SqliteTriage(db);
    this.s = {
      selectTask: db.prepare('SELECT * FROM tasks WHERE id = ?'),
      selectTaskByKey: db.prepare('SELECT * FROM tasks WHERE idempotency_key = ?'),
      selectSteps: db.prepare('SELECT * FROM steps WHERE task_id = ? ORDER BY position'),
      insertTask: db.prepare(
        `INSERT INTO tasks (id, namespace, name, version, status, context, correlation_id, idempotency_key, tags,
           business, traceparent, created_at, updated_at, started_at, finished_at, business_value, business_customer)
         VALUES (@id, @namespace, @name, @version, @status, @context, @correlation_id, @idempotency_key, @tags,
           @business, @traceparent, @created_at, @updated_at, @started_at, @finished_at, @business_value,
           @business_customer)`,
      ),
      insertTag: db.prepare('INSERT OR IGNORE INTO task_tags (task_id, tag) VALUES (?, ?)'),
      insertStep: db.prepare(
        `INSERT INTO steps (task_id, name, position, handler, status, depends_on, attempts, attempt_limit, retry,
           timeout_ms, handler_config, ready_at, lease_owner, lease_expires_at, started_at, finished_at, results,
           error_message, error_type)
         VALUES (@task_id, @name, @position, @handler, @status, @depends_on, @attempts, @attempt_limit, @retry,
           @timeout_ms, @handler_config, @ready_at, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
      ),
      updateTask: db.prepare(
        `UPDATE tasks SET status = ?, updated_at = ?, started_at = ?, finished_at = ? WHERE id = ? AND status = ?`,
      ),
      updateStep: db.prepare(
        `UPDATE steps SET status = ?, attempts = ?, attempt_limit = ?, ready_at = ?, lease_owner = ?,
           lease_expires_at = ?, queued_at = ?, started_at = ?, finished_at = ?, results = ?, error_message = ?,
           error_type = ?
         WHERE id = ? AND status = ? AND attempts = ?`,
      ),
      selectExpired: db.prepare(
        `SELECT id, task_id FROM steps WHERE lease_expires_at IS NOT NULL AND lease_expires_at < ?
         ORDER BY lease_expires_at LIMIT ?`,
      ),
      selectNextReady: db.prepare('SELECT MIN(ready_at) AS at FROM steps WHERE ready_at IS NOT NULL'),
      heartbeat: db.prepare(
        `UPDATE steps SET lease_expires_at = ?
         WHERE id = ? AND lease_owner = ? AND status = 'in_progress' AND attempts = ?`,
      ),
      selectAttempts: db.prepare(
        'SELECT * FROM step_attempts WHERE task_id = ? ORDER BY started_at, step_id, attempt',
      ),
      selectTransitions: db.prepare('SELECT * FROM transitions WHERE task_id = ? ORDER BY id'),
    };
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.transitionRows = new BatchInsert(db, 'transitions', [
      'task_id',
      'step_name',
      'from_state',
      'to_state',
      'at',
      'attempt',
      'reason',
      'error_type',
    ]);
    this.attemptRows = new BatchInsert(db, 'step_attempts', [
      'step_id',
      'attempt',
      'task_id',
      'step_name',
      'started_at',
      'finished_at',
      'duration_ms',
      'outcome',
      'error_message',
      'error_type',
      'worker_id',
      'queued_at',
      'error_signature',
      'error_fingerprint',
    ]);
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

  migrate(): Promise<MigrationStatus> {
    return this.guard(() => migrateSqlite(this.db, this.location));
  }

  schemaStatus(): Promise<MigrationStatus> {
    return this.guard(() => {
      const current =
        (this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null })
          .v ?? 0;
      return statusOf(current, SQLITE_MIGRATIONS, []);
    });
  }

  close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }

  createTasks(drafts: readonly TaskCreatedDraft[]): Promise<CreatedTask[]> {
    return this.guard(() => this.tx(() => drafts.map((d) => this.insertTask(d))));
  }

  private insertTask(draft: TaskCreatedDraft): CreatedTask {
    const key = draft.task.idempotencyKey;
    if (key !== null) {
      const existing = this.s.selectTaskByKey.get(key) as TaskRow | undefined;
      if (existing) return { task: taskFromRow(existing), created: false, events: [] };
    }
    const t = draft.task;
    const keys = businessKeys(t.business, t.context);
    this.s.insertTask.run({
      business_value: keys.value,
      business_customer: keys.customer,
      id: t.id,
      namespace: t.namespace,
      name: t.name,
      version: t.version,
      status: t.status,
      context: jsonText(t.context),
      correlation_id: t.correlationId,
      idempotency_key: t.idempotencyKey,
      tags: jsonText(t.tags),
      business: t.business ? jsonText(t.business) : null,
      traceparent: t.traceparent,
      created_at: t.createdAt,
      updated_at: t.updatedAt,
      started_at: t.startedAt,
      finished_at: t.finishedAt,
    });
    for (const tag of t.tags) this.s.insertTag.run(t.id, tag);
    const steps = draft.steps.map((st) => {
      const r = this.s.insertStep.run({
        task_id: st.taskId,
        name: st.name,
        position: st.position,
        handler: st.handler,
        status: st.status,
        depends_on: jsonText(st.dependsOn),
        attempts: st.attempts,
        attempt_limit: st.attemptLimit,
        retry: jsonText(st.retry),
        timeout_ms: st.timeoutMs,
        handler_config: jsonText(st.handlerConfig),
        ready_at: st.readyAt,
      });
      return { ...st, id: Number(r.lastInsertRowid) };
    });
    this.queueTransitions([draft.transition]);
    this.cache.stage({ task: t, steps });
    return { task: t, created: true, events: [buildTaskCreatedEvent(t)] };
  }

  cycle(input: CycleInput): Promise<CycleResult> {
    return this.guard(() => this.tx(() => this.runCycle(input)));
  }

  /**
   * One IMMEDIATE transaction: the snapshot cache is checked against other connections first, rows
   * queued for bulk insert are flushed before the commit, and the cache only learns of the changes once
   * the commit succeeded.
   */
  private tx<T>(fn: () => T): T {
    try {
      const result = this.db
        .transaction(() => {
          // Checked once the write lock is held: no other connection can commit between this check and
          // the reads below (checked before BEGIN, a commit while we waited for the lock would be missed).
          this.cache.sync(this.dataVersion.get() as number);
          const out = fn();
          this.flushQueued();
          return out;
        })
        .immediate();
      this.cache.commit();
      return result;
    } catch (err) {
      this.pendingTransitions = [];
      this.pendingAttempts = [];
      this.cache.rollback();
      throw err;
    }
  }

  private runCycle(input: CycleInput): CycleResult {
    const plan = new CyclePlanner(input.workerId, input.now, this.random, input.wantsEvent);
    const load = (refs: readonly StepRef[] | readonly StepOutcome[]) => {
      const ids = plan.missing(refs.map((r) => r.taskId));
      plan.add(ids.map((id) => this.loadSnapshot(id)).filter((x): x is TaskSnapshot => x !== null));
    };
    load(input.outcomes);
    plan.applyOutcomes(input.outcomes);
    if (input.recoverExpiredLeases) {
      const expired = (
        this.s.selectExpired.all(input.now, RECOVERY_BATCH) as Array<{ id: number; task_id: string }>
      ).map(toRef);
      load(expired);
      plan.recover(expired);
    }
    const rules = input.claim;
    if (rules && rules.limit > 0) {
      plan.claimReadyInMemory(rules);
      const room = plan.room(rules);
      if (room > 0) {
        // Over-fetch so a per-task limit does not starve the batch.
        const fetch =
          rules.perTaskLimit === undefined || rules.perTaskLimit >= rules.limit ? room : room * 2 + 16;
        const rows = this.selectReady(rules.handlers).all(
          input.now,
          ...(rules.handlers ?? []),
          fetch,
        ) as Array<{
          id: number;
          task_id: string;
        }>;
        const candidates = rows.map(toRef);
        load(candidates);
        plan.claimCandidates(candidates, rules);
      }
    }
    const events: TaskerEvent[] = [];
    const touched: string[] = [];
    for (const ws of plan.workspaces()) if (this.writeChanges(ws, events)) touched.push(ws.task.id);
    const next = this.s.selectNextReady.get() as { at: number | null } | undefined;
    return {
      applied: plan.applied,
      claimed: plan.claimed,
      recovered: plan.recovered,
      events,
      nextReadyAt: next?.at ?? null,
      touched,
    };
  }

  heartbeat(workerId: string, leases: readonly HeldLease[], leaseExpiresAt: number): Promise<HeldLease[]> {
    return this.guard(() =>
      this.tx(() => {
        const lost: HeldLease[] = [];
        for (const l of leases) {
          if (this.s.heartbeat.run(leaseExpiresAt, l.stepId, workerId, l.attempt).changes === 0) lost.push(l);
          else this.cache.patchStep(l.taskId, l.stepId, { leaseExpiresAt });
        }
        return lost;
      }),
    );
  }

  mutateTask(
    taskId: string,
    action: (ws: TaskWorkspace) => void,
    audit?: (task: TaskRecord) => AuditDraft,
  ): Promise<{ snapshot: TaskSnapshot; events: TaskerEvent[] }> {
    return this.guard(() =>
      this.tx(() => {
        const out = this.mutateInTx(taskId, action);
        if (audit) this.triage.writeAudit(audit(out.snapshot.task));
        return out;
      }),
    );
  }

  private mutateInTx(
    taskId: string,
    action: (ws: TaskWorkspace) => void,
  ): { snapshot: TaskSnapshot; events: TaskerEvent[] } {
    const snap = this.loadSnapshot(taskId);
    if (!snap) throw new TaskerError('TASK_NOT_FOUND', `no task with id ${taskId}`, { taskId });
    const ws = new TaskWorkspace(snap, this.random);
    action(ws);
    const events: TaskerEvent[] = [];
    this.writeChanges(ws, events);
    return { snapshot: copySnapshot({ task: ws.task, steps: ws.steps }), events };
  }

  failureGroups(q: FailureGroupQuery): Promise<FailureGroupData> {
    return this.guard(() => this.triage.failureGroups(q));
  }

  failureGroupTaskIds(q: FailureGroupQuery, fingerprint: string, limit: number): Promise<string[]> {
    return this.guard(() => this.triage.failureGroupTaskIds(q, fingerprint, limit));
  }

  appendAudit(entries: readonly AuditDraft[]): Promise<void> {
    return this.guard(() => this.triage.appendAudit(entries));
  }

  listAudit(q: AuditQuery): Promise<AuditRecord[]> {
    return this.guard(() => this.triage.listAudit(q));
  }

  createBulkJob(job: BulkJobRecord, items: readonly BulkItemDraft[], audit: AuditDraft): Promise<void> {
    return this.guard(() => this.triage.createBulkJob(job, items, audit));
  }

  getBulkJob(id: string): Promise<BulkJobView | null> {
    return this.guard(() => this.triage.getBulkJob(id));
  }

  listBulkJobs(limit: number): Promise<BulkJobView[]> {
    return this.guard(() => this.triage.listBulkJobs(limit));
  }

  bulkItems(jobId: string): Promise<BulkItemRecord[]> {
    return this.guard(() => this.triage.bulkItems(jobId));
  }

  leaseBulkJob(
    jobId: string | null,
    owner: string,
    now: number,
    leaseUntil: number,
  ): Promise<BulkJobRecord | null> {
    return this.guard(() => this.triage.leaseBulkJob(jobId, owner, now, leaseUntil));
  }

  pendingBulkItems(jobId: string, limit: number): Promise<BulkItemRecord[]> {
    return this.guard(() => this.triage.pendingBulkItems(jobId, limit));
  }

  applyBulkItem(
    jobId: string,
    owner: string,
    position: number,
    taskId: string,
    action: (ws: TaskWorkspace) => void,
    now: number,
  ): Promise<BulkItemApplied> {
    return this.guard(() => {
      const first = this.tryBulkItem(jobId, owner, position, taskId, action, now);
      if (first.applied || first.why !== 'skipped') return first;
      // The action was refused (the task moved on since the plan): roll it back, record why on its own.
      const message = first.message ?? null;
      const marked = this.tx(
        () =>
          this.triage.holdsLease(jobId, owner, now) &&
          this.triage.markItem(jobId, position, 'skipped', message, now),
      );
      return marked ? first : { applied: false, why: 'not_pending' };
    });
  }

  private tryBulkItem(
    jobId: string,
    owner: string,
    position: number,
    taskId: string,
    action: (ws: TaskWorkspace) => void,
    now: number,
  ): BulkItemApplied {
    const refused = new Error('refused');
    let message: string | undefined;
    try {
      return this.tx((): BulkItemApplied => {
        if (!this.triage.holdsLease(jobId, owner, now)) return { applied: false, why: 'lease_lost' };
        if (!this.triage.markItem(jobId, position, 'done', null, now))
          return { applied: false, why: 'not_pending' };
        try {
          return { applied: true, ...this.mutateInTx(taskId, action) };
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

  finishBulkJob(jobId: string, status: BulkJobStatus, now: number, audit: AuditDraft): Promise<boolean> {
    return this.guard(() => this.triage.finishBulkJob(jobId, status, now, audit));
  }

  getTask(taskId: string): Promise<TaskSnapshot | null> {
    // One read transaction: the cache check and the row reads see the same database state.
    return this.guard(() =>
      this.db.transaction(() => {
        this.cache.sync(this.dataVersion.get() as number);
        const snap = this.loadSnapshot(taskId);
        return snap ? copySnapshot(snap) : null;
      })(),
    );
  }

  getAttempts(taskId: string): Promise<AttemptRecord[]> {
    return this.guard(() => (this.s.selectAttempts.all(taskId) as AttemptRow[]).map(attemptFromRow));
  }

  getTransitions(taskId: string): Promise<TransitionRecord[]> {
    return this.guard(() => (this.s.selectTransitions.all(taskId) as TransitionRow[]).map(transitionFromRow));
  }

  listTasks(filter: TaskFilter): Promise<TaskPage> {
    return this.guard(() => {
      const w = taskWhere(filter, () => '?', 'task_tags');
      const limit = filter.limit ?? 50;
      const rows = this.db
        .prepare(`SELECT t.* FROM tasks t ${w.sql} ORDER BY t.id DESC LIMIT ?`)
        .all(...w.args, limit + 1) as TaskRow[];
      const tasks = rows.slice(0, limit).map(taskFromRow);
      const last = tasks[tasks.length - 1];
      return {
        tasks,
        nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null,
      };
    });
  }

  countTasks(filter: TaskFilter): Promise<number> {
    return this.guard(() => {
      const w = taskWhere({ ...filter, cursor: undefined }, () => '?', 'task_tags');
      return (this.db.prepare(`SELECT COUNT(*) AS n FROM tasks t ${w.sql}`).get(...w.args) as { n: number })
        .n;
    });
  }

  getTasks(taskIds: readonly string[]): Promise<TaskSnapshot[]> {
    return this.guard(() =>
      this.db.transaction(() => {
        this.cache.sync(this.dataVersion.get() as number);
        return taskIds.flatMap((id) => {
          const snap = this.loadSnapshot(id);
          return snap ? [copySnapshot(snap)] : [];
        });
      })(),
    );
  }

  getAttemptsFor(taskIds: readonly string[]): Promise<AttemptRecord[]> {
    return this.guard(() =>
      this.db.transaction(() =>
        taskIds.flatMap((id) => (this.s.selectAttempts.all(id) as AttemptRow[]).map(attemptFromRow)),
      )(),
    );
  }

  ping(): Promise<void> {
    return this.guard(() => {
      this.db.prepare('SELECT 1').get();
    });
  }

  activeCounts(now: number): Promise<ActiveCounts> {
    return this.guard(() => ({
      inProgress: this.db
        .prepare(
          `SELECT namespace, name, COUNT(*) AS count FROM tasks WHERE status = 'in_progress' GROUP BY namespace, name`,
        )
        .all() as ActiveCounts['inProgress'],
      ready: this.db
        .prepare(
          `SELECT t.namespace, COUNT(*) AS count FROM steps s JOIN tasks t ON t.id = s.task_id
           WHERE s.ready_at IS NOT NULL AND s.ready_at <= ? GROUP BY t.namespace`,
        )
        .all(now) as ActiveCounts['ready'],
    }));
  }

  /**
   * Other processes sharing the file say nothing about what they change: `PRAGMA data_version` moves
   * when another connection commits, so a watcher polling it twice a second can at least say "resync".
   * This process's own commits reach live views through the change feed, by id.
   */
  listenChanges(
    onChange: (notice: ChangeNotice, origin: string | null) => void,
    onError: (err: unknown) => void,
  ): Promise<() => Promise<void>> {
    let last = this.dataVersion.get() as number;
    const timer = setInterval(() => {
      if (!this.db.open) return;
      try {
        const v = this.dataVersion.get() as number;
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

  saveWorker(w: WorkerRecord): Promise<void> {
    return this.guard(() =>
      this.db.transaction(() => {
        this.db
          .prepare(
            `INSERT INTO workers (id, host, pid, version, started_at, heartbeat_at, expires_at, stopped_at,
               concurrency, in_flight, handlers)
             VALUES (@id, @host, @pid, @version, @started_at, @heartbeat_at, @expires_at, @stopped_at,
               @concurrency, @in_flight, @handlers)
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at,
               stopped_at = excluded.stopped_at, in_flight = excluded.in_flight, handlers = excluded.handlers,
               concurrency = excluded.concurrency`,
          )
          .run({
            id: w.id,
            host: w.host,
            pid: w.pid,
            version: w.version,
            started_at: w.startedAt,
            heartbeat_at: w.heartbeatAt,
            expires_at: w.expiresAt,
            stopped_at: w.stoppedAt,
            concurrency: w.concurrency,
            in_flight: w.inFlight,
            handlers: jsonText(w.handlers),
          });
        this.db
          .prepare('DELETE FROM workers WHERE COALESCE(stopped_at, expires_at) < ?')
          .run(w.heartbeatAt - WORKER_ROW_RETENTION_MS);
      })(),
    );
  }

  listWorkers(now: number, endedAfter: number): Promise<WorkerRecord[]> {
    return this.guard(() =>
      this.db.transaction(() => {
        const rows = this.db
          .prepare(
            `SELECT * FROM workers WHERE (stopped_at IS NULL AND expires_at >= ?) OR COALESCE(stopped_at, expires_at) >= ?
             ORDER BY started_at DESC`,
          )
          .all(now, endedAfter) as WorkerRow[];
        const leased = new Map(
          (
            this.db
              .prepare(
                `SELECT lease_owner AS id, COUNT(*) AS n FROM steps WHERE lease_expires_at IS NOT NULL GROUP BY lease_owner`,
              )
              .all() as Array<{ id: string; n: number }>
          ).map((r) => [r.id, r.n]),
        );
        return rows.map((r) => workerFromRow(r, r.stopped_at === null ? (leased.get(r.id) ?? 0) : undefined));
      })(),
    );
  }

  throughput(q: ThroughputQuery): Promise<ThroughputRow[]> {
    return this.guard(() => {
      // Numbered (?N): the window's bounds appear more than once in the statement.
      const { sql, args } = throughputSql(q, 'tasks', (n) => `?${n}`);
      // better-sqlite3 binds numbered parameters from an object keyed by number.
      const bound = Object.fromEntries(args.map((v, i) => [i + 1, v]));
      return foldThroughput(this.db.prepare(sql).all(bound) as ThroughputGroup[]);
    });
  }

  countReady(now: number, opts: ReadyCountOptions = {}): Promise<{ total: number; ahead: number[] }> {
    return this.guard(() => {
      const ns = opts.namespaces;
      const bounds = [Number.MAX_SAFE_INTEGER, ...(opts.before ?? [])];
      const join = ns ? 'CROSS JOIN tasks t ON t.id = s.task_id' : '';
      const inNs = ns ? `AND t.namespace IN (${ns.map(() => '?').join(', ') || 'NULL'})` : '';
      const rows = this.db
        .prepare(
          `WITH b(i, at) AS (VALUES ${bounds.map(() => '(?, ?)').join(', ')})
           SELECT b.i, (SELECT COUNT(*) FROM (SELECT 1 FROM steps s ${join}
             WHERE s.ready_at IS NOT NULL AND s.ready_at <= ? AND s.ready_at < b.at ${inNs} LIMIT ?)) AS n
           FROM b ORDER BY b.i`,
        )
        .all(...bounds.flatMap((at, i) => [i, at]), now, ...(ns ?? []), READY_COUNT_CAP) as Array<{
        n: number;
      }>;
      return { total: rows[0]?.n ?? 0, ahead: rows.slice(1).map((r) => r.n) };
    });
  }

  /**
   * The claim query: ready steps in ready order (partial index steps_ready), of tasks that can run, with a
   * handler this worker has. The task-status join is a safety net for the invariant "ready_at set ⇒ task
   * pending or in_progress": one stray row must never occupy a worker's claim batch forever.
   */
  private selectReady(handlers: ReadonlySet<string> | undefined): Stmt {
    const key = handlers ? [...handlers].join('\u0000') : '';
    let stmt = this.readyStatements.get(key);
    if (!stmt) {
      // CROSS JOIN pins the join order: the steps_ready index drives, so a large backlog of pending tasks
      // is never scanned (the planner would otherwise start from tasks_status).
      const byHandler = handlers ? `AND s.handler IN (${[...handlers].map(() => '?').join(', ')})` : '';
      stmt = this.db.prepare(
        `SELECT s.id, s.task_id FROM steps s CROSS JOIN tasks t ON t.id = s.task_id
         WHERE s.ready_at IS NOT NULL AND s.ready_at <= ? AND t.status IN ('pending', 'in_progress') ${byHandler}
         ORDER BY s.ready_at, s.id LIMIT ?`,
      );
      this.readyStatements.set(key, stmt);
    }
    return stmt;
  }

  private loadSnapshot(taskId: string): TaskSnapshot | null {
    const cached = this.cache.get(taskId);
    if (cached) return cached;
    const row = this.s.selectTask.get(taskId) as TaskRow | undefined;
    if (!row) return null;
    return { task: taskFromRow(row), steps: (this.s.selectSteps.all(taskId) as StepRow[]).map(stepFromRow) };
  }

  /** Write what a workspace changed; true when it changed anything. */
  private writeChanges(ws: TaskWorkspace, events: TaskerEvent[]): boolean {
    const c = ws.changes();
    if (c.task) {
      const t = c.task.record;
      const r = this.s.updateTask.run(
        t.status,
        t.updatedAt,
        t.startedAt,
        t.finishedAt,
        t.id,
        c.task.expectStatus,
      );
      if (r.changes !== 1)
        throw new TaskerError(
          'STORE_CONFLICT',
          `task ${t.id} changed underneath this transaction (expected ${c.task.expectStatus})`,
          { taskId: t.id },
        );
    }
    for (const w of c.steps) {
      const s = w.record;
      const r = this.s.updateStep.run(
        s.status,
        s.attempts,
        s.attemptLimit,
        s.readyAt,
        s.leaseOwner,
        s.leaseExpiresAt,
        s.queuedAt,
        s.startedAt,
        s.finishedAt,
        resultsJson(s.results),
        s.errorMessage,
        s.errorType,
        s.id,
        w.expectStatus,
        w.expectAttempts,
      );
      if (r.changes !== 1)
        throw new TaskerError(
          'STORE_CONFLICT',
          `step ${s.id} changed underneath this transaction (expected ${w.expectStatus})`,
          { stepId: s.id },
        );
    }
    this.queueTransitions(c.transitions);
    for (const a of c.attempts) {
      const cause = attemptCause(ws.task, a);
      this.pendingAttempts.push([
        a.stepId,
        a.attempt,
        a.taskId,
        a.stepName,
        a.startedAt,
        a.finishedAt,
        a.durationMs,
        a.outcome,
        a.errorMessage,
        a.errorType,
        a.workerId,
        a.queuedAt,
        cause.signature,
        cause.fingerprint,
      ]);
    }
    for (const e of c.events) events.push(e);
    if (c.task || c.steps.length > 0) this.cache.stage({ task: ws.task, steps: ws.steps });
    return c.task !== null || c.steps.length > 0 || c.attempts.length > 0;
  }

  private queueTransitions(list: TransitionRecord[]): void {
    for (const t of list) {
      this.pendingTransitions.push([
        t.taskId,
        t.stepName,
        t.fromState,
        t.toState,
        t.at,
        t.attempt,
        t.reason,
        t.errorType,
      ]);
    }
  }

  private flushQueued(): void {
    this.transitionRows.run(this.pendingTransitions);
    this.attemptRows.run(this.pendingAttempts);
    this.pendingTransitions = [];
    this.pendingAttempts = [];
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

function migrateSqlite(db: Database.Database, path: string): MigrationStatus {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const current =
    (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  if (current > LATEST_SQLITE_VERSION) {
    throw new TaskerError(
      'SCHEMA_VERSION_MISMATCH',
      `SQLite database ${path} is at schema version ${current}, newer than this tasker-engine knows (${LATEST_SQLITE_VERSION}); upgrade tasker-engine`,
      { path, current, latest: LATEST_SQLITE_VERSION },
    );
  }
  const applied: number[] = [];
  for (const m of SQLITE_MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        Date.now(),
      );
    }).immediate();
    applied.push(m.version);
  }
  return statusOf(Math.max(current, ...applied), SQLITE_MIGRATIONS, applied);
}

/** Callers get their own records: the cached ones must not change behind the cache's back. */
function copySnapshot(snap: TaskSnapshot): TaskSnapshot {
  return { task: { ...snap.task }, steps: snap.steps.map((st) => ({ ...st })) };
}

function toRef(row: { id: number; task_id: string }): StepRef {
  return { taskId: row.task_id, stepId: row.id };
}
