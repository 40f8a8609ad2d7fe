/**
 * PostgreSQL's task rows: locked loads through the snapshot cache, batched inserts, the fenced write of a
 * cycle and the cycle's I/O. Everything runs on the client of a transaction the store opened.
 *
 * Locking rule: a task's step rows are only written while holding the task row's lock (FOR UPDATE). A
 * cycle first locks the tasks of the outcomes it records, waiting, in id order (so two workers never
 * deadlock on each other); every later lock in the cycle (lease recovery, claiming) uses SKIP LOCKED and
 * never waits. A step is therefore claimed by exactly one worker, and two workers completing sibling steps
 * are serialised on their task, so the join step is never missed.
 */
import { attemptCause } from '../../core/failure-groups.js';
import { businessKeys } from '../../core/business-impact.js';
import { buildTaskCreatedEvent } from '../../core/new-task.js';
import type { TaskCreatedDraft, TaskRecord, TaskSnapshot } from '../../core/records.js';
import { TaskWorkspace } from '../../core/task-workspace.js';
import { TaskerError } from '../../errors.js';
import type { TaskerEvent } from '../../events/catalog.js';
import {
  ATTEMPT_INSERT,
  col,
  on,
  STEP_INSERT,
  STEP_UPDATE,
  TASK_ID,
  TASK_INSERT,
  TASK_SET,
  TASK_TAGS,
  TRANSITION_LOG_INSERT,
  type UpdateSpec,
} from '../columns.js';
import { stepRef, type AsyncCycleIO } from '../cycle.js';
import type { CreatedTask, HeldLease } from '../port.js';
import { stepFromRow, taskFromRow, transitionEntries, type StepRow, type TaskRow } from '../rows.js';
import { SnapshotCache } from '../snapshot-cache.js';
import type { Client, PgPool } from './pool.js';
import * as sql from './sql.js';

/**
 * One transaction's view: the revision each locked task was read at, and the snapshots its writes
 * produced, published to the process-wide cache only after COMMIT (concurrent transactions of this process
 * must not see each other's uncommitted snapshots).
 */
export interface TxState {
  revisions: Map<string, number>;
  written: Array<{ snapshot: TaskSnapshot; revision: number }>;
}
export const newTxState = (): TxState => ({ revisions: new Map(), written: [] });

interface TaskWrite {
  record: TaskRecord;
  revision: number;
}

/** PostgreSQL fences a task row on its revision, which every write moves on. */
const TASK_UPDATE: UpdateSpec<TaskWrite> = {
  table: 'tasks',
  set: on<TaskWrite, 'record'>(TASK_SET, 'record'),
  match: [...on<TaskWrite, 'record'>(TASK_ID, 'record'), col('revision', 'bigint', (w) => w.revision)],
};

type Mutation = { snapshot: TaskSnapshot; events: TaskerEvent[] };

export class PgTaskRows {
  private readonly cache = new SnapshotCache(20_000);

  constructor(
    private readonly db: PgPool,
    private readonly channel: string,
    private readonly random: () => number,
  ) {}

  /** Delivered when the surrounding transaction commits, so a woken worker sees the new rows. */
  async notify(c: Client): Promise<void> {
    await c.query('SELECT pg_notify($1, $2)', [this.channel, '']);
  }

  /** The cycle's requests, answered on this transaction's client. */
  cycleIO(c: Client, st: TxState): AsyncCycleIO {
    const q = this.db.sql;
    const refs = async (text: string, args: unknown[]) =>
      (await c.query<{ id: number; task_id: string }>(this.db.prepared(text, args))).rows.map(stepRef);
    return {
      load: (ids, purpose) =>
        this.lockAndLoad(c, st, ids, purpose === 'outcomes' ? 'wait' : 'skip', purpose !== 'recovery'),
      expired: (now, limit) => refs(q.expired, [now, limit]),
      ready: (now, handlers, limit) => refs(q.ready, [now, handlers ? [...handlers] : null, limit]),
      write: async (spaces, now) => {
        const events = await this.write(c, st, spaces);
        // Work this worker made ready but could not take: wake the others now rather than at their poll.
        if (spaces.some((ws) => ws.readyStepIds(now).length > 0)) await this.notify(c);
        return { events, touched: st.written.map((w) => w.snapshot.task.id) };
      },
      nextReadyAt: async () =>
        (await c.query<{ at: number | null }>(this.db.prepared(q.nextReady, []))).rows[0]?.at ?? null,
    };
  }

  /** After COMMIT: the snapshots a transaction wrote become the cache's, at their new revisions. */
  publish(st: TxState): void {
    for (const w of st.written) this.cache.stage(w.snapshot, w.revision);
    this.cache.commit();
  }

  /** All drafts in a handful of statements, however many there are. */
  async insert(c: Client, drafts: readonly TaskCreatedDraft[]): Promise<CreatedTask[]> {
    const p = new sql.Params(this.db.t);
    const rows = drafts.map((d) => ({ task: d.task, keys: businessKeys(d.task.business, d.task.context) }));
    const inserted = await c.query<{ id: string }>(
      `${p.insert('tasks', TASK_INSERT, rows)}
       ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING id`,
      p.args,
    );
    const created = new Set(inserted.rows.map((r) => r.id));
    const fresh = drafts.filter((d) => created.has(d.task.id));
    // Idempotency keys that already existed (or repeat within this batch): return the task that has it.
    const keys = drafts.filter((d) => !created.has(d.task.id)).map((d) => d.task.idempotencyKey);
    const existing = new Map<string, TaskRow>();
    if (keys.length > 0) {
      const r = await c.query<TaskRow>(this.db.sql.tasksByKey, [keys]);
      for (const row of r.rows) if (row.idempotency_key !== null) existing.set(row.idempotency_key, row);
    }
    const steps = fresh.flatMap((d) => d.steps);
    const tags = fresh.flatMap((d) => d.task.tags.map((tag) => ({ taskId: d.task.id, tag })));
    await sql.insertRows(c, this.db.t, 'steps', STEP_INSERT, steps);
    await sql.insertRows(c, this.db.t, 'task_tags', TASK_TAGS, tags, ' ON CONFLICT DO NOTHING');
    await sql.insertRows(
      c,
      this.db.t,
      'transition_log',
      TRANSITION_LOG_INSERT,
      fresh.map((d) => ({ taskId: d.task.id, entries: transitionEntries([d.transition]) })),
    );
    if (fresh.length > 0) await this.notify(c);
    return drafts.map((d): CreatedTask => {
      if (created.has(d.task.id))
        return { task: d.task, created: true, events: [buildTaskCreatedEvent(d.task)] };
      const row = d.task.idempotencyKey === null ? undefined : existing.get(d.task.idempotencyKey);
      if (!row) {
        throw new TaskerError(
          'STORE_CONFLICT',
          `task ${d.task.id} was neither inserted nor found by its idempotency key`,
        );
      }
      return { task: taskFromRow(row), created: false, events: [] };
    });
  }

  /** Leases this worker no longer holds (cancelled, taken over). */
  async extendLeases(
    c: Client,
    workerId: string,
    leases: readonly HeldLease[],
    until: number,
  ): Promise<HeldLease[]> {
    const held = await c.query<{ id: number }>(
      this.db.prepared(this.db.sql.extendLeases, [
        until,
        leases.map((l) => l.stepId),
        leases.map((l) => l.attempt),
        workerId,
      ]),
    );
    const ok = new Set(held.rows.map((r) => r.id));
    return leases.filter((l) => !ok.has(l.stepId));
  }

  /** An operator action on one task, under its row lock. */
  async mutate(
    c: Client,
    st: TxState,
    taskId: string,
    action: (ws: TaskWorkspace) => void,
  ): Promise<Mutation> {
    const [snap] = await this.lockAndLoad(c, st, [taskId], 'wait');
    if (!snap) throw new TaskerError('TASK_NOT_FOUND', `no task with id ${taskId}`, { taskId });
    const ws = new TaskWorkspace(snap, this.random);
    action(ws);
    const events = await this.write(c, st, [ws]);
    if (ws.readyStepIds(Date.now()).length > 0) await this.notify(c);
    return { snapshot: { task: { ...ws.task }, steps: ws.steps.map((s) => ({ ...s })) }, events };
  }

  /**
   * Lock the tasks (waiting, or skipping those another worker holds) and return their snapshots, recording
   * each one's revision. A snapshot this process cached at the revision now in the row is used as is: when
   * every task is cached, the lock query reads only ids and revisions, and nothing else is loaded.
   */
  private async lockAndLoad(
    c: Client,
    st: TxState,
    ids: string[],
    mode: 'wait' | 'skip',
    useCache = true,
  ): Promise<TaskSnapshot[]> {
    if (ids.length === 0) return [];
    const light = useCache && ids.every((id) => this.cache.has(id));
    const rows = await c.query<TaskRow & { revision: string }>(
      this.db.prepared(this.db.sql.lockTasks(light, mode), [ids]),
    );
    const out = new Map<string, TaskSnapshot | TaskRow | string>();
    for (const row of rows.rows) {
      const revision = Number(row.revision);
      st.revisions.set(row.id, revision);
      const cached = useCache ? this.cache.get(row.id, revision) : undefined;
      out.set(row.id, cached ?? (light ? row.id : row));
    }
    // Rows not served by the cache: full task columns (unless already read) and their steps, unlocked (held).
    const needTask = [...out.values()].filter((v): v is string => typeof v === 'string');
    if (needTask.length > 0) {
      for (const row of await this.taskRows(c, needTask)) out.set(row.id, row);
    }
    const rowsToBuild = [...out.values()].filter(
      (v): v is TaskRow => typeof v === 'object' && 'context' in v,
    );
    const built = await this.withSteps(c, rowsToBuild);
    return [...out.values()].flatMap((v) => {
      if (typeof v === 'string') return [];
      if ('steps' in v) return [v];
      const b = built.get(v.id);
      return b ? [b] : [];
    });
  }

  /** Task rows and their steps (an unlocked read; callers needing the lock hold it already). */
  async load(c: Client, ids: string[]): Promise<TaskSnapshot[]> {
    if (ids.length === 0) return [];
    return [...(await this.withSteps(c, await this.taskRows(c, ids))).values()];
  }

  private async taskRows(c: Client, ids: string[]): Promise<TaskRow[]> {
    return (await c.query<TaskRow>(this.db.prepared(this.db.sql.tasks, [ids]))).rows;
  }

  private async withSteps(c: Client, taskRows: readonly TaskRow[]): Promise<Map<string, TaskSnapshot>> {
    const byTask = new Map<string, TaskSnapshot>();
    if (taskRows.length === 0) return byTask;
    for (const row of taskRows) byTask.set(row.id, { task: taskFromRow(row), steps: [] });
    const steps = await c.query<StepRow>(this.db.prepared(this.db.sql.stepsOf, [taskRows.map((r) => r.id)]));
    for (const row of steps.rows) byTask.get(row.task_id)?.steps.push(stepFromRow(row));
    return byTask;
  }

  /**
   * Write what the workspaces changed in ONE statement (one round trip): fenced batch UPDATEs of tasks and
   * steps and the bulk INSERTs of transitions and attempts, as data-modifying CTEs. The fence is checked
   * on the returned counts; a mismatch aborts the transaction.
   */
  private async write(c: Client, st: TxState, spaces: TaskWorkspace[]): Promise<TaskerEvent[]> {
    const changes = spaces.map((ws) => ws.changes());
    // Every task whose workspace changed anything gets its row written, so its revision moves on.
    const tasks = spaces.flatMap((ws, i): TaskWrite[] => {
      const ch = changes[i];
      if (!ch || (!ch.task && ch.steps.length + ch.transitions.length + ch.attempts.length === 0)) return [];
      const revision = st.revisions.get(ws.task.id);
      if (revision === undefined)
        throw new TaskerError('STORE_CONFLICT', `task ${ws.task.id} was written without its row lock`);
      st.written.push({ snapshot: { task: ws.task, steps: ws.steps }, revision: revision + 1 });
      return [{ record: ws.task, revision }];
    });
    const steps = changes.flatMap((ch) => ch.steps);
    const transitions = spaces.flatMap((ws, i) => {
      const list = changes[i]?.transitions ?? [];
      return list.length === 0 ? [] : [{ taskId: ws.task.id, entries: transitionEntries(list) }];
    });
    const attempts = spaces.flatMap((ws, i) =>
      (changes[i]?.attempts ?? []).map((a) => ({ attempt: a, cause: attemptCause(ws.task, a) })),
    );
    if (tasks.length + steps.length + transitions.length + attempts.length === 0) return [];
    const p = new sql.Params(this.db.t);
    const r = await c.query<{ tasks: number; steps: number }>(
      this.db.prepared(
        `WITH ut AS (${p.update(TASK_UPDATE, tasks, ', revision = v.k_revision + 1')} RETURNING 1),
       us AS (${p.update(STEP_UPDATE, steps)} RETURNING 1),
       it AS (${p.insert('transition_log', TRANSITION_LOG_INSERT, transitions)}),
       ia AS (${p.insert('step_attempts', ATTEMPT_INSERT, attempts)})
       SELECT (SELECT COUNT(*) FROM ut)::int AS tasks, (SELECT COUNT(*) FROM us)::int AS steps`,
        p.args,
      ),
    );
    const row = r.rows[0];
    if ((row?.tasks ?? 0) !== tasks.length) throw conflict('tasks', tasks.length, row?.tasks ?? 0);
    if ((row?.steps ?? 0) !== steps.length) throw conflict('steps', steps.length, row?.steps ?? 0);
    return changes.flatMap((ch) => ch.events);
  }
}

function conflict(table: string, expected: number, got: number | null): TaskerError {
  return new TaskerError(
    'STORE_CONFLICT',
    `${table}: ${expected - (got ?? 0)} of ${expected} rows changed underneath this transaction`,
    { table },
  );
}
