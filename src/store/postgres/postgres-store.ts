/**
 * The PostgreSQL store: many worker processes on many machines share one database. Every decision is the
 * shared CyclePlanner/TaskWorkspace's; this adapter supplies locking and batched SQL.
 *
 * Locking rule: a task's step rows are only written while holding the task row's lock (FOR UPDATE). A
 * cycle first locks the tasks of the outcomes it records, waiting, in id order (so two workers never
 * deadlock on each other); every later lock in the cycle (lease recovery, claiming) uses SKIP LOCKED and
 * never waits. A step is therefore claimed by exactly one worker, and two workers completing sibling steps
 * are serialised on their task, so the join step is never missed.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { NulSafeClient } from './nul-safe-client.js';
import { CyclePlanner, type StepRef } from '../../core/cycle-planner.js';
import { buildTaskCreatedEvent } from '../../core/new-task.js';
import type {
  AttemptRecord,
  TaskCreatedDraft,
  TaskRecord,
  TaskSnapshot,
  TransitionRecord,
} from '../../core/records.js';
import { TaskWorkspace } from '../../core/task-workspace.js';
import { businessKeys } from '../../core/business-impact.js';
import { attemptCause } from '../../core/failure-groups.js';
import { PgTriage } from './triage.js';
import { TaskerError } from '../../errors.js';
import type { TaskerEvent } from '../../events/catalog.js';
import { encodeCursor, isUuid } from '../cursor.js';
import { taskWhere } from '../task-filter.js';
import { foldThroughput, throughputSql, type ThroughputGroup } from '../throughput-sql.js';
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
  CycleResult,
  HeldLease,
  MigrationStatus,
  TaskFilter,
  TaskPage,
  ReadyCountOptions,
  TaskStore,
  ChangeNotice,
  ThroughputQuery,
  ThroughputRow,
  WorkerRecord,
} from '../port.js';
import { READY_COUNT_CAP, WORKER_ROW_RETENTION_MS } from '../port.js';
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
import { mapPostgresError, resolvePostgres, type PostgresOptions } from './connect.js';
import { statusOf } from '../migration.js';
import { LATEST_POSTGRES_VERSION, POSTGRES_MIGRATIONS } from './migrations.js';
import { SnapshotCache } from '../snapshot-cache.js';
import { jsonText } from '../json-text.js';

const RECOVERY_BATCH = 100;
/**
 * Every statement in a cycle touches a few hundred rows by key. On small and mid-sized tables the default
 * cost model (random_page_cost 4) prefers a sequential scan plus hash join, which costs time in proportion
 * to the table; in one round trip with BEGIN, tell the planner what is true for a hot working set.
 */
const CYCLE_BEGIN = 'BEGIN; SET LOCAL random_page_cost = 1.1; SET LOCAL enable_sort = off';
/** Task columns, jsonb as text (rows.ts parses JSON text for both adapters). */
function taskCols(a = ''): string {
  const p = a ? `${a}.` : '';
  return `${p}id, ${p}namespace, ${p}name, ${p}version, ${p}status, ${p}context::text AS context, ${p}correlation_id,
    ${p}idempotency_key, ${p}tags::text AS tags, ${p}business::text AS business, ${p}traceparent, ${p}created_at, ${p}updated_at,
    ${p}started_at, ${p}finished_at`;
}
const TASK_COLS = taskCols();
const STEP_COLS = `id, task_id, name, position, handler, status, depends_on::text AS depends_on, attempts,
  attempt_limit, retry::text AS retry, timeout_ms, handler_config::text AS handler_config, ready_at, lease_owner,
  lease_expires_at, queued_at, started_at, finished_at, results::text AS results, error_message, error_type`;

type Client = pg.PoolClient;

/**
 * One transaction's view: the revision each locked task was read at, and the snapshots its writes
 * produced, published to the process-wide cache only after COMMIT (concurrent transactions of this process
 * must not see each other's uncommitted snapshots).
 */
interface TxState {
  revisions: Map<string, number>;
  written: Array<{ snapshot: TaskSnapshot; revision: number }>;
}
const newTxState = (): TxState => ({ revisions: new Map(), written: [] });

export class PostgresStore implements TaskStore {
  readonly kind = 'postgres' as const;
  readonly location: string;
  readonly schema: string;
  private readonly cache = new SnapshotCache(20_000);
  private readonly triage = new PgTriage(
    (table) => this.t(table),
    (sql, args) => this.query(sql, args),
    (fn, begin) => this.tx(fn, begin),
  );

  private constructor(
    private readonly pool: pg.Pool,
    private readonly clientConfig: pg.ClientConfig,
    schema: string,
    location: string,
    private readonly random: () => number,
  ) {
    this.schema = schema;
    this.location = location;
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
      else if (options.checkSchema !== false) store.assertCurrent(await store.schemaStatus());
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return store;
  }

  private t(table: string): string {
    return `"${this.schema}".${table}`;
  }

  /** One channel per schema; the payload is empty: a wake-up, not a message. */
  private get channel(): string {
    return channelName('tasker_', this.schema);
  }

  /** Delivered when the surrounding transaction commits, so a woken worker sees the new rows. */
  private async notify(c: Client): Promise<void> {
    await c.query('SELECT pg_notify($1, $2)', [this.channel, '']);
  }

  listen(onWake: () => void, onError: (err: unknown) => void): Promise<() => Promise<void>> {
    // On (re)connect too: notifications may have been missed while disconnected.
    return this.listenOn(this.channel, () => onWake(), onError, onWake);
  }

  /**
   * Task ids after the commit, on a channel of their own (workers do not wake for them), as
   * `<origin>|id,id,…` in payloads under NOTIFY's 8000-byte limit (one statement); `<origin>|*` when the
   * feed could not name them.
   */
  async publishChanges(notice: ChangeNotice, origin: string): Promise<void> {
    const ids = notice.resync !== undefined ? null : notice.taskIds;
    if (ids?.length === 0) return;
    const payloads: string[] = [];
    if (ids === null || ids.length > NOTIFY_IDS * 20) payloads.push(`${origin}|*`);
    else
      for (let i = 0; i < ids.length; i += NOTIFY_IDS)
        payloads.push(`${origin}|${ids.slice(i, i + NOTIFY_IDS).join(',')}`);
    await this.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [this.changesChannel, payloads]);
  }

  listenChanges(
    onChange: (notice: ChangeNotice, origin: string | null) => void,
    onError: (err: unknown) => void,
  ): Promise<() => Promise<void>> {
    let first = true;
    return this.listenOn(
      this.changesChannel,
      (payload) => {
        const bar = payload.indexOf('|');
        const origin = bar < 0 ? null : payload.slice(0, bar);
        const body = payload.slice(bar + 1);
        onChange(
          body === '*' || body === '' ? { resync: 'remote' } : { taskIds: body.split(',').filter(isUuid) },
          origin,
        );
      },
      onError,
      () => {
        // A reconnect may have missed changes; the first connect has nothing to catch up on.
        if (!first) onChange({ resync: 'remote' }, null);
        first = false;
      },
    );
  }

  private get changesChannel(): string {
    return channelName('tasker_changes_', this.schema);
  }

  /**
   * LISTEN on a dedicated connection that reconnects with backoff when the server drops it, calling
   * `onConnect` after every (re)connect.
   */
  private async listenOn(
    channel: string,
    onMessage: (payload: string) => void,
    onError: (err: unknown) => void,
    onConnect: () => void,
  ): Promise<() => Promise<void>> {
    let stopped = false;
    let client: pg.Client | undefined;
    let retry: NodeJS.Timeout | undefined;
    let failures = 0;
    const connect = async (): Promise<void> => {
      const c = new pg.Client(this.clientConfig);
      c.on('notification', (n) => onMessage(n.payload ?? ''));
      c.on('error', (err) => {
        onError(err);
        void reconnect();
      });
      await c.connect();
      await c.query(`LISTEN "${channel}"`);
      client = c;
      failures = 0;
      onConnect();
    };
    const reconnect = async (): Promise<void> => {
      const old = client;
      client = undefined;
      await old?.end().catch(() => {});
      if (stopped || retry) return;
      const delay = Math.min(10_000, 100 * 2 ** Math.min(failures++, 7));
      retry = setTimeout(() => {
        retry = undefined;
        if (!stopped)
          connect().catch((err: unknown) => {
            onError(err);
            void reconnect();
          });
      }, delay);
    };
    await connect();
    return async () => {
      stopped = true;
      clearTimeout(retry);
      await client?.end().catch(() => {});
    };
  }

  async migrate(): Promise<MigrationStatus> {
    return this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tasker.migrate.${this.schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${this.t('schema_migrations')} (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`,
      );
      const cur = await c.query<{ v: number | null }>(
        `SELECT MAX(version) AS v FROM ${this.t('schema_migrations')}`,
      );
      const current = cur.rows[0]?.v ?? 0;
      if (current > LATEST_POSTGRES_VERSION) {
        throw new TaskerError(
          'SCHEMA_VERSION_MISMATCH',
          `PostgreSQL schema "${this.schema}" at ${this.location} is at version ${current}, newer than this tasker-engine knows (${LATEST_POSTGRES_VERSION}); upgrade tasker-engine`,
          { schema: this.schema, current, latest: LATEST_POSTGRES_VERSION },
        );
      }
      const applied: number[] = [];
      for (const m of POSTGRES_MIGRATIONS) {
        if (m.version <= current) continue;
        await c.query(m.sql.replaceAll('{schema}', `"${this.schema}"`));
        await c.query(
          `INSERT INTO ${this.t('schema_migrations')} (version, name, applied_at) VALUES ($1, $2, $3)`,
          [m.version, m.name, Date.now()],
        );
        applied.push(m.version);
      }
      return statusOf(Math.max(current, ...applied), POSTGRES_MIGRATIONS, applied);
    });
  }

  async schemaStatus(): Promise<MigrationStatus> {
    const table = await this.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [
      `"${this.schema}".schema_migrations`,
    ]);
    if (!table.rows[0]?.t) return statusOf(0, POSTGRES_MIGRATIONS, []);
    const cur = await this.query<{ v: number | null }>(
      `SELECT MAX(version) AS v FROM ${this.t('schema_migrations')}`,
      [],
    );
    return statusOf(cur.rows[0]?.v ?? 0, POSTGRES_MIGRATIONS, []);
  }

  private assertCurrent(status: MigrationStatus): void {
    if (status.current === status.latest) return;
    const where = `PostgreSQL schema "${this.schema}" at ${this.location}`;
    if (status.current > status.latest) {
      throw new TaskerError(
        'SCHEMA_VERSION_MISMATCH',
        `${where} is at version ${status.current}, newer than this tasker-engine knows (${status.latest}); upgrade tasker-engine`,
        { schema: this.schema, ...status },
      );
    }
    const pending = status.pending.map((m) => `${String(m.version).padStart(3, '0')}_${m.name}`).join(', ');
    throw new TaskerError(
      'SCHEMA_VERSION_MISMATCH',
      `${where} is at version ${status.current}${status.current === 0 ? ' (not installed)' : ''}; this tasker-engine needs ${status.latest}. ` +
        `Apply ${pending} with: tasker db migrate --db <url>${this.schema === 'tasker' ? '' : ` (schema ${this.schema})`}`,
      { schema: this.schema, ...status },
    );
  }

  /** Idempotent: a second close (an owner closing after a failed health probe did) is a no-op. */
  async close(): Promise<void> {
    if (this.pool.ended) return;
    await this.pool.end();
  }

  /** All drafts in one transaction and a handful of statements, however many there are. */
  createTasks(drafts: readonly TaskCreatedDraft[]): Promise<CreatedTask[]> {
    return this.tx(async (c) => {
      const ts = drafts.map((d) => d.task);
      const money = ts.map((t) => businessKeys(t.business, t.context));
      const inserted = await c.query<{ id: string }>(
        `INSERT INTO ${this.t('tasks')} (id, namespace, name, version, status, context, correlation_id, idempotency_key,
           tags, business, traceparent, created_at, updated_at, started_at, finished_at, business_value,
           business_customer)
         SELECT v.id, v.namespace, v.name, v.version, v.status, v.context::jsonb, v.correlation_id, v.idempotency_key,
           v.tags::jsonb, v.business::jsonb, v.traceparent, v.created_at, v.updated_at, v.started_at, v.finished_at,
           v.business_value, v.business_customer
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
           $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::text[],
           $16::float8[], $17::text[])
           AS v(id, namespace, name, version, status, context, correlation_id, idempotency_key, tags, business,
             created_at, updated_at, started_at, finished_at, traceparent, business_value, business_customer)
         ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
         RETURNING id`,
        [
          ts.map((t) => t.id),
          ts.map((t) => t.namespace),
          ts.map((t) => t.name),
          ts.map((t) => t.version),
          ts.map((t) => t.status),
          ts.map((t) => jsonText(t.context)),
          ts.map((t) => t.correlationId),
          ts.map((t) => t.idempotencyKey),
          ts.map((t) => jsonText(t.tags)),
          ts.map((t) => (t.business ? jsonText(t.business) : null)),
          ts.map((t) => t.createdAt),
          ts.map((t) => t.updatedAt),
          ts.map((t) => t.startedAt),
          ts.map((t) => t.finishedAt),
          ts.map((t) => t.traceparent),
          money.map((k) => k.value),
          money.map((k) => k.customer),
        ],
      );
      const created = new Set(inserted.rows.map((r) => r.id));
      const fresh = drafts.filter((d) => created.has(d.task.id));
      // Idempotency keys that already existed (or repeat within this batch): return the task that has it.
      const keys = drafts.filter((d) => !created.has(d.task.id)).map((d) => d.task.idempotencyKey);
      const existing = new Map<string, TaskRow>();
      if (keys.length > 0) {
        const r = await c.query<TaskRow>(
          `SELECT ${TASK_COLS} FROM ${this.t('tasks')} WHERE idempotency_key = ANY($1::text[])`,
          [keys],
        );
        for (const row of r.rows) if (row.idempotency_key !== null) existing.set(row.idempotency_key, row);
      }
      const steps = fresh.flatMap((d) => d.steps);
      if (steps.length > 0) {
        await c.query(
          `INSERT INTO ${this.t('steps')} (task_id, name, position, handler, status, depends_on, attempts, attempt_limit,
             retry, timeout_ms, handler_config, ready_at)
           SELECT v.task_id, v.name, v.position, v.handler, v.status, v.depends_on::jsonb, v.attempts, v.attempt_limit,
             v.retry::jsonb, v.timeout_ms, v.handler_config::jsonb, v.ready_at
           FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[],
             $9::text[], $10::int[], $11::text[], $12::bigint[])
             AS v(task_id, name, position, handler, status, depends_on, attempts, attempt_limit, retry, timeout_ms,
               handler_config, ready_at)`,
          [
            steps.map((x) => x.taskId),
            steps.map((x) => x.name),
            steps.map((x) => x.position),
            steps.map((x) => x.handler),
            steps.map((x) => x.status),
            steps.map((x) => jsonText(x.dependsOn)),
            steps.map((x) => x.attempts),
            steps.map((x) => x.attemptLimit),
            steps.map((x) => jsonText(x.retry)),
            steps.map((x) => x.timeoutMs),
            steps.map((x) => jsonText(x.handlerConfig)),
            steps.map((x) => x.readyAt),
          ],
        );
      }
      const tags = fresh.flatMap((d) => d.task.tags.map((tag) => [tag, d.task.id] as const));
      if (tags.length > 0) {
        await c.query(
          `INSERT INTO ${this.t('task_tags')} (tag, task_id) SELECT * FROM unnest($1::text[], $2::uuid[]) ON CONFLICT DO NOTHING`,
          [tags.map((x) => x[0]), tags.map((x) => x[1])],
        );
      }
      await this.insertTransitions(
        c,
        fresh.map((d) => d.transition),
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
    });
  }

  async cycle(input: CycleInput): Promise<CycleResult> {
    if (input.outcomes.length === 0 && !input.recoverExpiredLeases) {
      // An idle poll is one indexed query, not a transaction: an idle worker stays quiet.
      const next = await this.query<{ at: number | null }>(
        `SELECT MIN(ready_at) AS at FROM ${this.t('steps')} WHERE ready_at IS NOT NULL`,
        [],
      );
      const at = next.rows[0]?.at ?? null;
      if (at === null || at > input.now)
        return { applied: [], claimed: [], recovered: 0, events: [], nextReadyAt: at, touched: [] };
    }
    const st = newTxState();
    const result = await this.tx(async (c) => {
      const plan = new CyclePlanner(input.workerId, input.now, this.random, input.wantsEvent);
      plan.add(await this.lockAndLoad(c, st, plan.missing(input.outcomes.map((o) => o.taskId)), 'wait'));
      plan.applyOutcomes(input.outcomes);
      if (input.recoverExpiredLeases) {
        const rows = await c.query<{ id: number; task_id: string }>(
          `SELECT id, task_id FROM ${this.t('steps')} WHERE lease_expires_at IS NOT NULL AND lease_expires_at < $1
           ORDER BY lease_expires_at LIMIT $2`,
          [input.now, RECOVERY_BATCH],
        );
        const expired = rows.rows.map(toRef);
        // Read afresh: heartbeats move lease expiries without a revision, and recovery judges them.
        plan.add(await this.lockAndLoad(c, st, plan.missing(expired.map((e) => e.taskId)), 'skip', false));
        plan.recover(expired);
      }
      const rules = input.claim;
      if (rules && rules.limit > 0) {
        plan.claimReadyInMemory(rules);
        const room = plan.room(rules);
        if (room > 0) {
          // Locks the candidates' task rows in the same statement, skipping tasks another worker holds, so
          // concurrent workers take disjoint sets of tasks instead of all reaching for the oldest ones. Only
          // task rows are locked (never step rows): the locking rule in the header stays deadlock-free.
          const fetch =
            rules.perTaskLimit === undefined || rules.perTaskLimit >= rules.limit ? room : room * 2 + 16;
          const rows = await c.query<{ id: number; task_id: string }>(
            `SELECT s.id, s.task_id FROM ${this.t('steps')} s JOIN ${this.t('tasks')} t ON t.id = s.task_id
             WHERE s.ready_at IS NOT NULL AND s.ready_at <= $1 AND t.status IN ('pending', 'in_progress')
               AND ($2::text[] IS NULL OR s.handler = ANY($2::text[]))
             ORDER BY s.ready_at, s.id LIMIT $3
             FOR UPDATE OF t SKIP LOCKED`,
            [input.now, rules.handlers ? [...rules.handlers] : null, fetch],
          );
          const candidates = rows.rows.map(toRef);
          plan.add(await this.lockAndLoad(c, st, plan.missing(candidates.map((x) => x.taskId)), 'skip'));
          plan.claimCandidates(candidates, rules);
        }
      }
      const spaces = [...plan.workspaces()];
      const events = await this.write(c, st, spaces);
      // Work this worker made ready but could not take: wake the others now rather than at their poll.
      if (spaces.some((ws) => ws.readyStepIds(input.now).length > 0)) await this.notify(c);
      const next = await c.query<{ at: number | null }>(
        `SELECT MIN(ready_at) AS at FROM ${this.t('steps')} WHERE ready_at IS NOT NULL`,
      );
      return {
        applied: plan.applied,
        claimed: plan.claimed,
        recovered: plan.recovered,
        events,
        nextReadyAt: next.rows[0]?.at ?? null,
        touched: st.written.map((w) => w.snapshot.task.id),
      };
    }, CYCLE_BEGIN);
    this.publish(st);
    return result;
  }

  /** After COMMIT: the snapshots this transaction wrote become the cache's, at their new revisions. */
  private publish(st: TxState): void {
    for (const w of st.written) this.cache.stage(w.snapshot, w.revision);
    this.cache.commit();
  }

  heartbeat(workerId: string, leases: readonly HeldLease[], leaseExpiresAt: number): Promise<HeldLease[]> {
    return this.tx(async (c) => {
      const held = await c.query<{ id: number }>(
        `UPDATE ${this.t('steps')} s SET lease_expires_at = $1
         FROM unnest($2::bigint[], $3::int[]) AS v(id, attempt)
         WHERE s.id = v.id AND s.attempts = v.attempt AND s.lease_owner = $4 AND s.status = 'in_progress'
         RETURNING s.id`,
        [leaseExpiresAt, leases.map((l) => l.stepId), leases.map((l) => l.attempt), workerId],
      );
      const ok = new Set(held.rows.map((r) => r.id));
      return leases.filter((l) => !ok.has(l.stepId));
    });
  }

  async mutateTask(
    taskId: string,
    action: (ws: TaskWorkspace) => void,
    audit?: (task: TaskRecord) => AuditDraft,
  ): Promise<{ snapshot: TaskSnapshot; events: TaskerEvent[] }> {
    const st = newTxState();
    const out = await this.tx(async (c) => {
      const done = await this.mutateInTx(c, st, taskId, action);
      if (audit) await this.triage.writeAudit(c, audit(done.snapshot.task));
      return done;
    });
    this.publish(st);
    return out;
  }

  private async mutateInTx(
    c: Client,
    st: TxState,
    taskId: string,
    action: (ws: TaskWorkspace) => void,
  ): Promise<{ snapshot: TaskSnapshot; events: TaskerEvent[] }> {
    const [snap] = await this.lockAndLoad(c, st, [taskId], 'wait');
    if (!snap) throw new TaskerError('TASK_NOT_FOUND', `no task with id ${taskId}`, { taskId });
    const ws = new TaskWorkspace(snap, this.random);
    action(ws);
    const events = await this.write(c, st, [ws]);
    if (ws.readyStepIds(Date.now()).length > 0) await this.notify(c);
    return { snapshot: { task: { ...ws.task }, steps: ws.steps.map((s) => ({ ...s })) }, events };
  }

  failureGroups(q: FailureGroupQuery): Promise<FailureGroupData> {
    return this.triage.failureGroups(q);
  }

  failureGroupTaskIds(q: FailureGroupQuery, fingerprint: string, limit: number): Promise<string[]> {
    return this.triage.failureGroupTaskIds(q, fingerprint, limit);
  }

  appendAudit(entries: readonly AuditDraft[]): Promise<void> {
    return this.triage.appendAudit(entries);
  }

  listAudit(q: AuditQuery): Promise<AuditRecord[]> {
    return this.triage.listAudit(q);
  }

  createBulkJob(job: BulkJobRecord, items: readonly BulkItemDraft[], audit: AuditDraft): Promise<void> {
    return this.triage.createBulkJob(job, items, audit);
  }

  getBulkJob(id: string): Promise<BulkJobView | null> {
    return this.triage.getBulkJob(id);
  }

  listBulkJobs(limit: number): Promise<BulkJobView[]> {
    return this.triage.listBulkJobs(limit);
  }

  bulkItems(jobId: string): Promise<BulkItemRecord[]> {
    return this.triage.bulkItems(jobId);
  }

  leaseBulkJob(
    jobId: string | null,
    owner: string,
    now: number,
    leaseUntil: number,
  ): Promise<BulkJobRecord | null> {
    return this.triage.leaseBulkJob(jobId, owner, now, leaseUntil);
  }

  pendingBulkItems(jobId: string, limit: number): Promise<BulkItemRecord[]> {
    return this.triage.pendingBulkItems(jobId, limit);
  }

  async applyBulkItem(
    jobId: string,
    owner: string,
    position: number,
    taskId: string,
    action: (ws: TaskWorkspace) => void,
    now: number,
  ): Promise<BulkItemApplied> {
    const st = newTxState();
    const refused = new Error('refused');
    let message: string | undefined;
    try {
      const out = await this.tx(async (c): Promise<BulkItemApplied> => {
        if (!(await this.triage.holdsLease(c, jobId, owner, now)))
          return { applied: false, why: 'lease_lost' };
        if (!(await this.triage.markItem(c, jobId, position, 'done', null, now)))
          return { applied: false, why: 'not_pending' };
        try {
          return { applied: true, ...(await this.mutateInTx(c, st, taskId, action)) };
        } catch (err) {
          if (!(err instanceof TaskerError) || err.code.startsWith('DATABASE_')) throw err;
          message = err.message;
          throw refused;
        }
      });
      if (out.applied) this.publish(st);
      return out;
    } catch (err) {
      if (err !== refused) throw err;
    }
    // The action was refused (the task moved on since the plan): rolled back; record why on its own.
    const marked = await this.tx(
      async (c) =>
        (await this.triage.holdsLease(c, jobId, owner, now)) &&
        (await this.triage.markItem(c, jobId, position, 'skipped', message ?? null, now)),
    );
    return marked ? { applied: false, why: 'skipped', message } : { applied: false, why: 'not_pending' };
  }

  finishBulkJob(jobId: string, status: BulkJobStatus, now: number, audit: AuditDraft): Promise<boolean> {
    return this.triage.finishBulkJob(jobId, status, now, audit);
  }

  /**
   * One round trip: a read-only snapshot transaction sent as a single simple-protocol query (task, then
   * steps, both as of the same snapshot). The id is inlined, which is safe only because isUuid() has
   * admitted nothing but hex digits and dashes; the extended protocol would need four round trips.
   */
  async getTask(taskId: string): Promise<TaskSnapshot | null> {
    if (!isUuid(taskId)) return null;
    const id = `'${taskId.toLowerCase()}'::uuid`;
    const results = (await this.simple(
      `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
       SELECT ${TASK_COLS} FROM ${this.t('tasks')} WHERE id = ${id};
       SELECT ${STEP_COLS} FROM ${this.t('steps')} WHERE task_id = ${id} ORDER BY position;
       COMMIT`,
    )) as Array<pg.QueryResult<TaskRow & StepRow>>;
    const task = results[1]?.rows[0] as TaskRow | undefined;
    if (!task) return null;
    return { task: taskFromRow(task), steps: ((results[2]?.rows ?? []) as StepRow[]).map(stepFromRow) };
  }

  /**
   * A multi-statement text query (no parameters). A failure can leave the connection inside the
   * transaction the text opened, so a failed connection is destroyed, never returned to the pool.
   */
  private simple(sql: string): Promise<unknown> {
    return this.withClient(async (c, broken) => {
      try {
        return (await c.query(sql)) as unknown;
      } catch (err) {
        broken(err as Error);
        throw err;
      }
    });
  }

  async getAttempts(taskId: string): Promise<AttemptRecord[]> {
    if (!isUuid(taskId)) return [];
    const r = await this.query<AttemptRow>(
      `SELECT * FROM ${this.t('step_attempts')} WHERE task_id = $1 ORDER BY started_at, step_id, attempt`,
      [taskId],
    );
    return r.rows.map(attemptFromRow);
  }

  async getTransitions(taskId: string): Promise<TransitionRecord[]> {
    if (!isUuid(taskId)) return [];
    const r = await this.query<TransitionRow>(
      `SELECT * FROM ${this.t('transitions')} WHERE task_id = $1 ORDER BY id`,
      [taskId],
    );
    return r.rows.map(transitionFromRow);
  }

  async listTasks(filter: TaskFilter): Promise<TaskPage> {
    const w = taskWhere(filter, (n) => `$${n}`, this.t('task_tags'), '::uuid');
    const limit = filter.limit ?? 50;
    const r = await this.query<TaskRow>(
      `SELECT ${taskCols('t')} FROM ${this.t('tasks')} t ${w.sql} ORDER BY t.id DESC LIMIT $${w.args.length + 1}`,
      [...w.args, limit + 1],
    );
    const tasks = r.rows.slice(0, limit).map(taskFromRow);
    const last = tasks[tasks.length - 1];
    return { tasks, nextCursor: r.rows.length > limit && last ? encodeCursor(last.id) : null };
  }

  async countTasks(filter: TaskFilter): Promise<number> {
    const w = taskWhere({ ...filter, cursor: undefined }, (n) => `$${n}`, this.t('task_tags'), '::uuid');
    const r = await this.query<{ n: number }>(
      `SELECT COUNT(*)::int AS n FROM ${this.t('tasks')} t ${w.sql}`,
      w.args,
    );
    return r.rows[0]?.n ?? 0;
  }

  getTasks(taskIds: readonly string[]): Promise<TaskSnapshot[]> {
    const ids = taskIds.filter(isUuid);
    if (ids.length === 0) return Promise.resolve([]);
    return this.tx((c) => this.load(c, ids), 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  async getAttemptsFor(taskIds: readonly string[]): Promise<AttemptRecord[]> {
    const ids = taskIds.filter(isUuid);
    if (ids.length === 0) return [];
    const r = await this.query<AttemptRow>(
      `SELECT * FROM ${this.t('step_attempts')} WHERE task_id = ANY($1::uuid[]) ORDER BY task_id, started_at, step_id, attempt`,
      [ids],
    );
    return r.rows.map(attemptFromRow);
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1', []);
  }

  async activeCounts(now: number): Promise<ActiveCounts> {
    const [inProgress, ready] = await Promise.all([
      this.query<{ namespace: string; name: string; count: string }>(
        `SELECT namespace, name, COUNT(*) AS count FROM ${this.t('tasks')} WHERE status = 'in_progress'
         GROUP BY namespace, name`,
        [],
      ),
      this.query<{ namespace: string; count: string }>(
        `SELECT t.namespace, COUNT(*) AS count FROM ${this.t('steps')} s JOIN ${this.t('tasks')} t ON t.id = s.task_id
         WHERE s.ready_at IS NOT NULL AND s.ready_at <= $1 GROUP BY t.namespace`,
        [now],
      ),
    ]);
    return {
      inProgress: inProgress.rows.map((r) => ({
        namespace: r.namespace,
        name: r.name,
        count: Number(r.count),
      })),
      ready: ready.rows.map((r) => ({ namespace: r.namespace, count: Number(r.count) })),
    };
  }

  async saveWorker(w: WorkerRecord): Promise<void> {
    await this.query(
      `WITH up AS (
         INSERT INTO ${this.t('workers')} (id, host, pid, version, started_at, heartbeat_at, expires_at, stopped_at,
           concurrency, in_flight, handlers)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at,
           stopped_at = excluded.stopped_at, in_flight = excluded.in_flight, handlers = excluded.handlers,
           concurrency = excluded.concurrency
       )
       DELETE FROM ${this.t('workers')} WHERE COALESCE(stopped_at, expires_at) < $12`,
      [
        w.id,
        w.host,
        w.pid,
        w.version,
        w.startedAt,
        w.heartbeatAt,
        w.expiresAt,
        w.stoppedAt,
        w.concurrency,
        w.inFlight,
        jsonText(w.handlers),
        w.heartbeatAt - WORKER_ROW_RETENTION_MS,
      ],
    );
  }

  async listWorkers(now: number, endedAfter: number): Promise<WorkerRecord[]> {
    const [rows, leases] = await Promise.all([
      this.query<WorkerRow>(
        `SELECT id, host, pid, version, started_at, heartbeat_at, expires_at, stopped_at, concurrency, in_flight,
           handlers::text AS handlers
         FROM ${this.t('workers')}
         WHERE (stopped_at IS NULL AND expires_at >= $1) OR COALESCE(stopped_at, expires_at) >= $2
         ORDER BY started_at DESC`,
        [now, endedAfter],
      ),
      this.indexedRead((c) =>
        c.query<{ id: string; n: string }>(
          `SELECT lease_owner AS id, COUNT(*) AS n FROM ${this.t('steps')} WHERE lease_expires_at IS NOT NULL
           GROUP BY lease_owner`,
        ),
      ),
    ]);
    const leased = new Map(leases.rows.map((r) => [r.id, Number(r.n)]));
    return rows.rows.map((r) =>
      workerFromRow(r, r.stopped_at === null ? (leased.get(r.id) ?? 0) : undefined),
    );
  }

  async throughput(q: ThroughputQuery): Promise<ThroughputRow[]> {
    // Typed parameters: PostgreSQL cannot infer a type for `$n / $m` on its own.
    const { sql, args } = throughputSql(
      q,
      this.t('tasks'),
      (n, v) => `$${n}::${typeof v === 'number' ? 'bigint' : 'text'}`,
      '::uuid',
    );
    const r = await this.query<ThroughputGroup>(sql, args);
    return foldThroughput(r.rows);
  }

  async countReady(now: number, opts: ReadyCountOptions = {}): Promise<{ total: number; ahead: number[] }> {
    const ns = opts.namespaces;
    const bounds = [Number.MAX_SAFE_INTEGER, ...(opts.before ?? [])];
    const r = await this.indexedRead((c) =>
      c.query<{ n: string }>(
        `SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM ${this.t('steps')} s
           ${ns ? `JOIN ${this.t('tasks')} t ON t.id = s.task_id` : ''}
           WHERE s.ready_at IS NOT NULL AND s.ready_at <= $1 AND s.ready_at < b.at
             ${ns ? 'AND t.namespace = ANY($4::text[])' : ''} LIMIT $3) x) AS n
         FROM unnest($2::bigint[]) WITH ORDINALITY AS b(at, i) ORDER BY b.i`,
        [now, bounds, READY_COUNT_CAP, ...(ns ? [ns] : [])],
      ),
    );
    const counts = r.rows.map((x) => Number(x.n));
    return { total: counts[0] ?? 0, ahead: counts.slice(1) };
  }

  /**
   * A read whose partial index (steps_ready, steps_lease) holds the few rows it wants. On a young or
   * freshly loaded table without statistics the planner guesses a sequential scan of every step (70 ms at
   * 500,000 steps, measured); forbidding it inside a read-only transaction keeps these reads proportional
   * to what they count.
   */
  private indexedRead<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    return this.tx(async (c) => {
      await c.query('SET LOCAL enable_seqscan = off');
      return fn(c);
    }, 'BEGIN READ ONLY');
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
    const lock = ` ORDER BY id FOR UPDATE${mode === 'skip' ? ' SKIP LOCKED' : ''}`;
    const light = useCache && ids.every((id) => this.cache.has(id));
    const rows = await c.query<TaskRow & { revision: string }>(
      `SELECT ${light ? 'id' : TASK_COLS}, revision FROM ${this.t('tasks')} WHERE id = ANY($1::uuid[])${lock}`,
      [ids],
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
      const r = await c.query<TaskRow>(
        `SELECT ${TASK_COLS} FROM ${this.t('tasks')} WHERE id = ANY($1::uuid[])`,
        [needTask],
      );
      for (const row of r.rows) out.set(row.id, row);
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
  private async load(c: Client, ids: string[]): Promise<TaskSnapshot[]> {
    if (ids.length === 0) return [];
    const tasks = await c.query<TaskRow>(
      `SELECT ${TASK_COLS} FROM ${this.t('tasks')} WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return [...(await this.withSteps(c, tasks.rows)).values()];
  }

  private async withSteps(c: Client, taskRows: readonly TaskRow[]): Promise<Map<string, TaskSnapshot>> {
    const byTask = new Map<string, TaskSnapshot>();
    if (taskRows.length === 0) return byTask;
    for (const row of taskRows) byTask.set(row.id, { task: taskFromRow(row), steps: [] });
    const steps = await c.query<StepRow>(
      `SELECT ${STEP_COLS} FROM ${this.t('steps')} WHERE task_id = ANY($1::uuid[]) ORDER BY task_id, position`,
      [taskRows.map((r) => r.id)],
    );
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
    const tasks = spaces.flatMap((ws, i) => {
      const ch = changes[i];
      if (!ch || (!ch.task && ch.steps.length + ch.transitions.length + ch.attempts.length === 0)) return [];
      const revision = st.revisions.get(ws.task.id);
      if (revision === undefined)
        throw new TaskerError('STORE_CONFLICT', `task ${ws.task.id} was written without its row lock`);
      st.written.push({ snapshot: { task: ws.task, steps: ws.steps }, revision: revision + 1 });
      return [{ record: ws.task, revision }];
    });
    const steps = changes.flatMap((ch) => ch.steps);
    const transitions = changes.flatMap((ch) => ch.transitions);
    const attempts = changes.flatMap((ch) => ch.attempts);
    const causes = spaces.flatMap((ws, i) =>
      (changes[i]?.attempts ?? []).map((a) => attemptCause(ws.task, a)),
    );
    if (tasks.length + steps.length + transitions.length + attempts.length === 0) return [];
    const r = await c.query<{ tasks: number; steps: number }>(
      `WITH ut AS (
         UPDATE ${this.t('tasks')} t SET status = v.status, updated_at = v.updated_at, started_at = v.started_at,
           finished_at = v.finished_at, revision = v.revision + 1
         FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
           AS v(id, status, updated_at, started_at, finished_at, revision)
         WHERE t.id = v.id AND t.revision = v.revision
         RETURNING 1
       ), us AS (
         UPDATE ${this.t('steps')} s SET status = v.status, attempts = v.attempts, attempt_limit = v.attempt_limit,
           ready_at = v.ready_at, lease_owner = v.lease_owner, lease_expires_at = v.lease_expires_at,
           started_at = v.started_at, finished_at = v.finished_at, results = v.results::jsonb,
           error_message = v.error_message, error_type = v.error_type, queued_at = v.queued_at
         FROM unnest($7::bigint[], $8::text[], $9::int[], $10::int[], $11::bigint[], $12::text[], $13::bigint[],
           $14::bigint[], $15::bigint[], $16::text[], $17::text[], $18::text[], $19::text[], $20::int[],
           $40::bigint[])
           AS v(id, status, attempts, attempt_limit, ready_at, lease_owner, lease_expires_at, started_at,
             finished_at, results, error_message, error_type, expect_status, expect_attempts, queued_at)
         WHERE s.id = v.id AND s.status = v.expect_status AND s.attempts = v.expect_attempts
         RETURNING 1
       ), it AS (
         INSERT INTO ${this.t('transitions')} (task_id, step_name, from_state, to_state, at, attempt, reason, error_type)
         SELECT * FROM unnest($21::uuid[], $22::text[], $23::text[], $24::text[], $25::bigint[], $26::int[],
           $27::text[], $28::text[])
       ), ia AS (
         INSERT INTO ${this.t('step_attempts')} (task_id, step_id, attempt, step_name, started_at, finished_at,
           duration_ms, outcome, error_message, error_type, worker_id, queued_at, error_signature, error_fingerprint)
         SELECT * FROM unnest($29::uuid[], $30::bigint[], $31::int[], $32::text[], $33::bigint[], $34::bigint[],
           $35::bigint[], $36::text[], $37::text[], $38::text[], $39::text[], $41::bigint[], $42::text[],
           $43::text[])
       )
       SELECT (SELECT COUNT(*) FROM ut)::int AS tasks, (SELECT COUNT(*) FROM us)::int AS steps`,
      [
        tasks.map((x) => x.record.id),
        tasks.map((x) => x.record.status),
        tasks.map((x) => x.record.updatedAt),
        tasks.map((x) => x.record.startedAt),
        tasks.map((x) => x.record.finishedAt),
        tasks.map((x) => x.revision),
        steps.map((x) => x.record.id),
        steps.map((x) => x.record.status),
        steps.map((x) => x.record.attempts),
        steps.map((x) => x.record.attemptLimit),
        steps.map((x) => x.record.readyAt),
        steps.map((x) => x.record.leaseOwner),
        steps.map((x) => x.record.leaseExpiresAt),
        steps.map((x) => x.record.startedAt),
        steps.map((x) => x.record.finishedAt),
        steps.map((x) => resultsJson(x.record.results)),
        steps.map((x) => x.record.errorMessage),
        steps.map((x) => x.record.errorType),
        steps.map((x) => x.expectStatus),
        steps.map((x) => x.expectAttempts),
        ...transitionColumns(transitions),
        attempts.map((a) => a.taskId),
        attempts.map((a) => a.stepId),
        attempts.map((a) => a.attempt),
        attempts.map((a) => a.stepName),
        attempts.map((a) => a.startedAt),
        attempts.map((a) => a.finishedAt),
        attempts.map((a) => a.durationMs),
        attempts.map((a) => a.outcome),
        attempts.map((a) => a.errorMessage),
        attempts.map((a) => a.errorType),
        attempts.map((a) => a.workerId),
        steps.map((x) => x.record.queuedAt),
        attempts.map((a) => a.queuedAt),
        causes.map((x) => x.signature),
        causes.map((x) => x.fingerprint),
      ],
    );
    const row = r.rows[0];
    if ((row?.tasks ?? 0) !== tasks.length) throw conflict('tasks', tasks.length, row?.tasks ?? 0);
    if ((row?.steps ?? 0) !== steps.length) throw conflict('steps', steps.length, row?.steps ?? 0);
    return changes.flatMap((ch) => ch.events);
  }

  private async insertTransitions(c: Client, list: TransitionRecord[]): Promise<void> {
    if (list.length === 0) return;
    await c.query(
      `INSERT INTO ${this.t('transitions')} (task_id, step_name, from_state, to_state, at, attempt, reason, error_type)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::int[], $7::text[],
         $8::text[])`,
      transitionColumns(list),
    );
  }

  private async query<R extends pg.QueryResultRow>(sql: string, args: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, args);
    } catch (err) {
      throw mapPostgresError(err, this.location);
    }
  }

  /** One transaction on one pooled connection; a broken connection is discarded, not returned to the pool. */
  private tx<T>(fn: (c: Client) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    return this.withClient(async (c, broken) => {
      try {
        await c.query(begin);
        const out = await fn(c);
        await c.query('COMMIT');
        return out;
      } catch (err) {
        try {
          await c.query('ROLLBACK');
        } catch (rollbackErr) {
          broken(rollbackErr as Error);
        }
        throw err;
      }
    });
  }

  /**
   * A pooled connection for `fn`. A checked-out connection the server kills (restart,
   * pg_terminate_backend) reports it as an 'error' event; unheard, that event would crash the process.
   * It is noted, and a connection noted broken (by that event or by `fn`) is dropped, not pooled again.
   */
  private async withClient<T>(fn: (c: Client, broken: (err: Error) => void) => Promise<T>): Promise<T> {
    let client: Client;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw mapPostgresError(err, this.location);
    }
    let failure: Error | undefined;
    const broken = (err: Error) => {
      failure = err;
    };
    client.on('error', broken);
    try {
      return await fn(client, broken);
    } catch (err) {
      throw err instanceof TaskerError ? err : mapPostgresError(err, this.location);
    } finally {
      client.off('error', broken);
      client.release(failure);
    }
  }
}

/** Task ids in one NOTIFY payload: 37 bytes each, well under the 8000-byte limit. */
const NOTIFY_IDS = 200;

/**
 * A channel name for a schema. PostgreSQL truncates identifiers to 63 bytes (and pg_notify refuses longer
 * names), so a long schema name is replaced by a digest of it.
 */
function channelName(prefix: string, schema: string): string {
  const name = `${prefix}${schema}`;
  return Buffer.byteLength(name) <= 63
    ? name
    : `${prefix}${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

function toRef(row: { id: number; task_id: string }): StepRef {
  return { taskId: row.task_id, stepId: row.id };
}

function conflict(table: string, expected: number, got: number | null): TaskerError {
  return new TaskerError(
    'STORE_CONFLICT',
    `${table}: ${expected - (got ?? 0)} of ${expected} rows changed underneath this transaction`,
    { table },
  );
}

function transitionColumns(list: readonly TransitionRecord[]): unknown[][] {
  return [
    list.map((t) => t.taskId),
    list.map((t) => t.stepName),
    list.map((t) => t.fromState),
    list.map((t) => t.toState),
    list.map((t) => t.at),
    list.map((t) => t.attempt),
    list.map((t) => t.reason),
    list.map((t) => t.errorType),
  ];
}
