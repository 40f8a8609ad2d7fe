/**
 * SQLite's task rows: snapshots (through the snapshot cache), inserts, fenced writes and the cycle's I/O.
 * Everything here runs inside a transaction `tx` (or `read`) opened, synchronously: better-sqlite3 never
 * yields, so a whole cycle is one IMMEDIATE transaction and group commit falls out of the runtime calling
 * it once per tick.
 */
import type Database from 'better-sqlite3';
import { attemptCause } from '../../core/failure-groups.js';
import { businessKeys } from '../../core/business-impact.js';
import type { StepRef } from '../../core/cycle-planner.js';
import { buildTaskCreatedEvent } from '../../core/new-task.js';
import type { NewStepRecord, TaskCreatedDraft, TaskSnapshot } from '../../core/records.js';
import { TaskWorkspace, type WorkspaceChanges } from '../../core/task-workspace.js';
import { TaskerError } from '../../errors.js';
import type { TaskerEvent } from '../../events/catalog.js';
import {
  ATTEMPT_INSERT,
  col,
  on,
  rowRunner,
  STEP_INSERT,
  STEP_UPDATE,
  TASK_ID,
  TASK_INSERT,
  TASK_SET,
  TRANSITION_LOG_INSERT,
  type NewTransitionLogRow,
  type AttemptRow,
  type NewTaskRow,
  type UpdateSpec,
} from '../columns.js';
import { stepRef, type CycleIO } from '../cycle.js';
import type { CreatedTask, HeldLease } from '../port.js';
import { stepFromRow, taskFromRow, transitionEntries, type StepRow, type TaskRow } from '../rows.js';
import { SnapshotCache } from '../snapshot-cache.js';
import { BatchInsert } from './batch-insert.js';
import * as sql from './sql.js';

type Stmt = Database.Statement;
type TaskChange = NonNullable<WorkspaceChanges['task']>;

/** SQLite fences a task row on the status the workspace loaded. */
const TASK_UPDATE: UpdateSpec<TaskChange> = {
  table: 'tasks',
  set: on<TaskChange, 'record'>(TASK_SET, 'record'),
  match: [...on<TaskChange, 'record'>(TASK_ID, 'record'), col('status', 'text', (c) => c.expectStatus)],
};

const insertTask = rowRunner<NewTaskRow, Database.RunResult>(TASK_INSERT);
const insertStep = rowRunner<NewStepRecord, Database.RunResult>(STEP_INSERT);
const updateTask = sql.updateRunner(TASK_UPDATE);
const updateStep = sql.updateRunner(STEP_UPDATE);

export class SqliteTaskRows implements CycleIO {
  private readonly cache = new SnapshotCache(20_000);
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
    | 'extendLease'
    | 'dataVersion',
    Stmt
  >;
  private readonly readyStatements = new Map<string, Stmt>();
  private readonly transitionRows: BatchInsert<NewTransitionLogRow>;
  private readonly attemptRows: BatchInsert<AttemptRow>;
  /** Rows appended during the current transaction, written in bulk before it commits. */
  private pendingTransitions: NewTransitionLogRow[] = [];
  private pendingAttempts: AttemptRow[] = [];

  constructor(
    private readonly db: Database.Database,
    private readonly random: () => number,
  ) {
    this.s = {
      selectTask: db.prepare(sql.SELECT_TASK),
      selectTaskByKey: db.prepare(sql.SELECT_TASK_BY_KEY),
      selectSteps: db.prepare(sql.SELECT_STEPS),
      insertTask: db.prepare(sql.insertSql('tasks', TASK_INSERT)),
      insertTag: db.prepare('INSERT OR IGNORE INTO task_tags (task_id, tag) VALUES (?, ?)'),
      insertStep: db.prepare(sql.insertSql('steps', STEP_INSERT)),
      updateTask: db.prepare(sql.updateSql(TASK_UPDATE)),
      updateStep: db.prepare(sql.updateSql(STEP_UPDATE)),
      selectExpired: db.prepare(sql.SELECT_EXPIRED),
      selectNextReady: db.prepare(sql.SELECT_NEXT_READY),
      extendLease: db.prepare(sql.EXTEND_LEASE),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
    };
    this.transitionRows = new BatchInsert(db, 'transition_log', TRANSITION_LOG_INSERT);
    this.attemptRows = new BatchInsert(db, 'step_attempts', ATTEMPT_INSERT);
  }

  /** The connection's commit counter: it moves when another connection commits. */
  dataVersion(): number {
    return this.s.dataVersion.get() as number;
  }

  /**
   * One IMMEDIATE transaction: the snapshot cache is checked against other connections first, rows
   * queued for bulk insert are flushed before the commit, and the cache only learns of the changes once
   * the commit succeeded.
   */
  tx<T>(fn: () => T): T {
    try {
      const result = this.db
        .transaction(() => {
          // Checked once the write lock is held: no other connection can commit between this check and
          // the reads below (checked before BEGIN, a commit while we waited for the lock would be missed).
          this.cache.sync(this.dataVersion());
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

  /** One read transaction: the cache check and the row reads see the same database state. */
  read<T>(fn: () => T): T {
    return this.db.transaction(() => {
      this.cache.sync(this.dataVersion());
      return fn();
    })();
  }

  insertTask(draft: TaskCreatedDraft): CreatedTask {
    const key = draft.task.idempotencyKey;
    if (key !== null) {
      const existing = this.s.selectTaskByKey.get(key) as TaskRow | undefined;
      if (existing) return { task: taskFromRow(existing), created: false, events: [] };
    }
    const t = draft.task;
    insertTask(this.s.insertTask, { task: t, keys: businessKeys(t.business, t.context) });
    for (const tag of t.tags) this.s.insertTag.run(t.id, tag);
    const steps = draft.steps.map((st) => ({
      ...st,
      id: Number(insertStep(this.s.insertStep, st).lastInsertRowid),
    }));
    this.pendingTransitions.push({ taskId: t.id, entries: transitionEntries([draft.transition]) });
    this.cache.stage({ task: t, steps });
    return { task: t, created: true, events: [buildTaskCreatedEvent(t)] };
  }

  /** The cached snapshot itself when there is one: callers handing it out copy it (copySnapshot). */
  snapshot(taskId: string): TaskSnapshot | null {
    const cached = this.cache.get(taskId);
    if (cached) return cached;
    const row = this.s.selectTask.get(taskId) as TaskRow | undefined;
    if (!row) return null;
    return { task: taskFromRow(row), steps: (this.s.selectSteps.all(taskId) as StepRow[]).map(stepFromRow) };
  }

  load(taskIds: string[]): TaskSnapshot[] {
    return taskIds.map((id) => this.snapshot(id)).filter((x): x is TaskSnapshot => x !== null);
  }

  expired(now: number, limit: number): StepRef[] {
    return (this.s.selectExpired.all(now, limit) as Array<{ id: number; task_id: string }>).map(stepRef);
  }

  ready(now: number, handlers: ReadonlySet<string> | undefined, limit: number): StepRef[] {
    const key = handlers ? [...handlers].join('\u0000') : '';
    let stmt = this.readyStatements.get(key);
    if (!stmt) {
      stmt = this.db.prepare(sql.selectReadySql(handlers ? handlers.size : null));
      this.readyStatements.set(key, stmt);
    }
    const rows = stmt.all(now, ...(handlers ?? []), limit) as Array<{ id: number; task_id: string }>;
    return rows.map(stepRef);
  }

  write(spaces: TaskWorkspace[]): { events: TaskerEvent[]; touched: string[] } {
    const events: TaskerEvent[] = [];
    const touched: string[] = [];
    for (const ws of spaces) if (this.writeChanges(ws, events)) touched.push(ws.task.id);
    return { events, touched };
  }

  nextReadyAt(): number | null {
    return (this.s.selectNextReady.get() as { at: number | null } | undefined)?.at ?? null;
  }

  /** Leases this worker no longer holds are returned; the others run until `leaseExpiresAt`. */
  extendLeases(workerId: string, leases: readonly HeldLease[], leaseExpiresAt: number): HeldLease[] {
    const lost: HeldLease[] = [];
    for (const l of leases) {
      if (this.s.extendLease.run(leaseExpiresAt, l.stepId, workerId, l.attempt).changes === 0) lost.push(l);
      else this.cache.patchStep(l.taskId, l.stepId, { leaseExpiresAt });
    }
    return lost;
  }

  /** An operator action on one task, inside the caller's transaction. */
  mutate(
    taskId: string,
    action: (ws: TaskWorkspace) => void,
  ): { snapshot: TaskSnapshot; events: TaskerEvent[] } {
    const snap = this.snapshot(taskId);
    if (!snap) throw new TaskerError('TASK_NOT_FOUND', `no task with id ${taskId}`, { taskId });
    const ws = new TaskWorkspace(snap, this.random);
    action(ws);
    const events: TaskerEvent[] = [];
    this.writeChanges(ws, events);
    return { snapshot: copySnapshot({ task: ws.task, steps: ws.steps }), events };
  }

  /** Write what a workspace changed; true when it changed anything. */
  private writeChanges(ws: TaskWorkspace, events: TaskerEvent[]): boolean {
    const c = ws.changes();
    if (c.task && updateTask(this.s.updateTask, c.task).changes !== 1) {
      const id = c.task.record.id;
      throw new TaskerError(
        'STORE_CONFLICT',
        `task ${id} changed underneath this transaction (expected ${c.task.expectStatus})`,
        { taskId: id },
      );
    }
    for (const w of c.steps) {
      if (updateStep(this.s.updateStep, w).changes !== 1)
        throw new TaskerError(
          'STORE_CONFLICT',
          `step ${w.record.id} changed underneath this transaction (expected ${w.expectStatus})`,
          { stepId: w.record.id },
        );
    }
    if (c.transitions.length > 0)
      this.pendingTransitions.push({ taskId: ws.task.id, entries: transitionEntries(c.transitions) });
    for (const a of c.attempts) this.pendingAttempts.push({ attempt: a, cause: attemptCause(ws.task, a) });
    for (const e of c.events) events.push(e);
    if (c.task || c.steps.length > 0) this.cache.stage({ task: ws.task, steps: ws.steps });
    return c.task !== null || c.steps.length > 0 || c.attempts.length > 0;
  }

  private flushQueued(): void {
    this.transitionRows.run(this.pendingTransitions);
    this.attemptRows.run(this.pendingAttempts);
    this.pendingTransitions = [];
    this.pendingAttempts = [];
  }
}

/** Callers get their own records: the cached ones must not change behind the cache's back. */
export function copySnapshot(snap: TaskSnapshot): TaskSnapshot {
  return { task: { ...snap.task }, steps: snap.steps.map((st) => ({ ...st })) };
}
