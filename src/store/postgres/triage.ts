/**
 * The PostgreSQL side of triage: failure groups (store/triage-sql.ts), the audit log and bulk jobs. Task
 * mutations that go with them (an action and its audit entry, a bulk item and its task) live in the
 * adapter, which owns the row locks and the snapshot cache.
 */
import type pg from 'pg';
import type {
  AuditDraft,
  AuditQuery,
  AuditRecord,
  BulkItemDraft,
  BulkItemRecord,
  BulkJobRecord,
  BulkJobStatus,
  BulkJobView,
  FailureGroupData,
  FailureGroupQuery,
} from '../port.js';
import {
  AUDIT_COLUMNS,
  auditFromRow,
  auditValues,
  BULK_JOB_COLUMNS,
  bulkItemFromRow,
  bulkJobFromRow,
  bulkJobValues,
  withCounts,
  type AuditRow,
  type BulkItemRow,
  type BulkJobRow,
} from '../triage-rows.js';
import {
  foldStuck,
  groupReads,
  groupTasksSql,
  stuckSql,
  type Dialect,
  type Sql,
  type StuckRow,
  type UnfinishedStepRow,
} from '../triage-sql.js';
import { driveAsync } from '../drive.js';
import type { Client, PgPool } from './pool.js';

const placeholders = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

export class PgTriage {
  private readonly dialect: Dialect;

  private readonly t: (table: string) => string;
  private readonly query: PgPool['query'];
  private readonly tx: PgPool['tx'];

  constructor(db: PgPool) {
    this.t = db.t;
    this.query = (text, args) => db.query(text, args);
    this.tx = (fn, begin) => db.tx(fn, begin);
    this.dialect = {
      // Typed: PostgreSQL cannot infer a type for `$n / $m` or `$n IS NOT DISTINCT FROM col` on its own.
      param: (n, v) =>
        `$${n}::${typeof v === 'number' ? (Number.isInteger(v) ? 'bigint' : 'float8') : 'text'}`,
      table: db.t,
      lateral: true,
    };
  }

  /** Inside the caller's transaction. */
  async writeAudit(c: Client, a: AuditDraft): Promise<void> {
    await c.query(
      `WITH a AS (
         INSERT INTO ${this.t('audit_log')} (${AUDIT_COLUMNS}) VALUES (${placeholders(11)}) RETURNING id
       )
       INSERT INTO ${this.t('audit_tasks')} (task_id, audit_id)
       SELECT DISTINCT x, a.id FROM a, unnest($12::uuid[]) AS x`,
      [...auditValues(a), a.taskIds],
    );
  }

  async failureGroups(q: FailureGroupQuery): Promise<FailureGroupData> {
    // The groups and their details (examples, activity) share one snapshot, so they agree. The stuck
    // tasks are a list of their own: read at the same time on a second connection, which takes their
    // 100-200 ms (20,000 unfinished tasks) off the report's answer.
    const RR = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';
    const rows =
      (c: Client) =>
      async <R extends pg.QueryResultRow>(s: Sql) =>
        (await c.query<R>(s.sql, s.args)).rows;
    const d = this.dialect;
    const [{ groups, truncated }, stuck] = await Promise.all([
      this.tx((c) => driveAsync(groupReads(d, q), rows(c)), RR),
      this.tx(async (c) => {
        const all = rows(c);
        const tasks = await all<StuckRow>(stuckSql(d, q));
        const steps =
          tasks.length === 0
            ? []
            : await all<UnfinishedStepRow>({
                sql: `SELECT task_id, name, status, ready_at, lease_expires_at FROM ${this.t('steps')}
                  WHERE task_id = ANY($1::uuid[]) AND status IN ('pending', 'in_progress', 'waiting_for_retry')
                  ORDER BY task_id, position`,
                args: [tasks.map((r) => r.id)],
              });
        return foldStuck(tasks, steps);
      }, RR),
    ]);
    return { groups, truncated, stuck };
  }

  async failureGroupTaskIds(q: FailureGroupQuery, fingerprint: string, limit: number): Promise<string[]> {
    const s = groupTasksSql(this.dialect, q, fingerprint, limit);
    return (await this.query<{ task_id: string }>(s.sql, s.args)).rows.map((r) => r.task_id);
  }

  async appendAudit(entries: readonly AuditDraft[]): Promise<void> {
    await this.tx(async (c) => {
      for (const a of entries) await this.writeAudit(c, a);
    });
  }

  async listAudit(q: AuditQuery): Promise<AuditRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => (args.push(v), `$${args.length}`);
    const from =
      q.taskId !== undefined
        ? `${this.t('audit_log')} a JOIN ${this.t('audit_tasks')} x ON x.audit_id = a.id`
        : `${this.t('audit_log')} a`;
    if (q.taskId !== undefined) where.push(`x.task_id = ${arg(q.taskId)}::uuid`);
    if (q.actor !== undefined) where.push(`a.actor = ${arg(q.actor)}`);
    if (q.action !== undefined) where.push(`a.action = ${arg(q.action)}`);
    if (q.outcome !== undefined) where.push(`a.outcome = ${arg(q.outcome)}`);
    if (q.beforeId !== undefined) where.push(`a.id < ${arg(q.beforeId)}`);
    if (q.namespaces) where.push(`a.namespace = ANY(${arg(q.namespaces)}::text[])`);
    const r = await this.query<AuditRow>(
      `SELECT a.* FROM ${from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY a.id DESC LIMIT ${arg(q.limit)}`,
      args,
    );
    return r.rows.map(auditFromRow);
  }

  async createBulkJob(job: BulkJobRecord, items: readonly BulkItemDraft[], audit: AuditDraft): Promise<void> {
    await this.tx(async (c) => {
      await c.query(
        `INSERT INTO ${this.t('bulk_jobs')} (${BULK_JOB_COLUMNS}) VALUES (${placeholders(12)})`,
        bulkJobValues(job),
      );
      await c.query(
        `INSERT INTO ${this.t('bulk_job_tasks')} (job_id, position, task_id, status, message)
         SELECT $1, * FROM unnest($2::int[], $3::uuid[], $4::text[], $5::text[])`,
        [
          job.id,
          items.map((i) => i.position),
          items.map((i) => i.taskId),
          items.map((i) => i.status),
          items.map((i) => i.message),
        ],
      );
      await this.writeAudit(c, audit);
    });
  }

  private async withCounts(rows: BulkJobRow[]): Promise<BulkJobView[]> {
    if (rows.length === 0) return [];
    const counts = await this.query<{ job_id: string; status: string; n: string }>(
      `SELECT job_id, status, COUNT(*) AS n FROM ${this.t('bulk_job_tasks')} WHERE job_id = ANY($1::text[])
       GROUP BY job_id, status`,
      [rows.map((r) => r.id)],
    );
    return rows.map((r) =>
      withCounts(
        bulkJobFromRow(r),
        counts.rows.filter((x) => x.job_id === r.id),
      ),
    );
  }

  async getBulkJob(id: string): Promise<BulkJobView | null> {
    const r = await this.query<BulkJobRow>(`SELECT * FROM ${this.t('bulk_jobs')} WHERE id = $1`, [id]);
    return (await this.withCounts(r.rows))[0] ?? null;
  }

  async listBulkJobs(limit: number): Promise<BulkJobView[]> {
    const r = await this.query<BulkJobRow>(
      `SELECT * FROM ${this.t('bulk_jobs')} ORDER BY created_at DESC, id DESC LIMIT $1`,
      [limit],
    );
    return this.withCounts(r.rows);
  }

  async bulkItems(jobId: string): Promise<BulkItemRecord[]> {
    const r = await this.query<BulkItemRow>(
      `SELECT position, task_id, status, message, at FROM ${this.t('bulk_job_tasks')} WHERE job_id = $1
       ORDER BY position`,
      [jobId],
    );
    return r.rows.map(bulkItemFromRow);
  }

  async leaseBulkJob(
    jobId: string | null,
    owner: string,
    now: number,
    leaseUntil: number,
  ): Promise<BulkJobRecord | null> {
    const r = await this.query<BulkJobRow>(
      `UPDATE ${this.t('bulk_jobs')} SET lease_owner = $2, lease_expires_at = $3
       WHERE id = (
         SELECT id FROM ${this.t('bulk_jobs')}
         WHERE status = 'running' AND ($4::text IS NULL OR id = $4)
           AND (lease_owner IS NULL OR lease_expires_at < $1 OR lease_owner = $2)
         ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED
       )
       RETURNING *`,
      [now, owner, leaseUntil, jobId],
    );
    const row = r.rows[0];
    return row ? bulkJobFromRow(row) : null;
  }

  async pendingBulkItems(jobId: string, limit: number): Promise<BulkItemRecord[]> {
    const r = await this.query<BulkItemRow>(
      `SELECT position, task_id, status, message, at FROM ${this.t('bulk_job_tasks')}
       WHERE job_id = $1 AND status = 'pending' ORDER BY position LIMIT $2`,
      [jobId, limit],
    );
    return r.rows.map(bulkItemFromRow);
  }

  /**
   * Inside the caller's transaction: the job's row locked (so a stop or a takeover waits for this item),
   * and whether it still runs under this owner's lease.
   */
  async holdsLease(c: Client, jobId: string, owner: string, now: number): Promise<boolean> {
    const r = await c.query(
      `SELECT 1 FROM ${this.t('bulk_jobs')} WHERE id = $1 AND status = 'running' AND lease_owner = $2
         AND lease_expires_at >= $3 FOR SHARE`,
      [jobId, owner, now],
    );
    return r.rowCount === 1;
  }

  /** Inside the caller's transaction: pending → done/skipped/failed; false when it was not pending. */
  async markItem(
    c: Client,
    jobId: string,
    position: number,
    status: string,
    message: string | null,
    now: number,
  ): Promise<boolean> {
    const r = await c.query(
      `UPDATE ${this.t('bulk_job_tasks')} SET status = $1, message = $2, at = $3
       WHERE job_id = $4 AND position = $5 AND status = 'pending'`,
      [status, message, now, jobId, position],
    );
    return r.rowCount === 1;
  }

  async finishBulkJob(
    jobId: string,
    status: BulkJobStatus,
    now: number,
    audit: AuditDraft,
  ): Promise<boolean> {
    return this.tx(async (c) => {
      const r = await c.query(
        `UPDATE ${this.t('bulk_jobs')} SET status = $1, finished_at = $2, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = $3 AND status = 'running'`,
        [status, now, jobId],
      );
      if (r.rowCount !== 1) return false;
      if (status === 'stopped') {
        await c.query(
          `UPDATE ${this.t('bulk_job_tasks')} SET status = 'skipped', message = 'job stopped', at = $1
           WHERE job_id = $2 AND status = 'pending'`,
          [now, jobId],
        );
      }
      await this.writeAudit(c, audit);
      return true;
    });
  }
}
