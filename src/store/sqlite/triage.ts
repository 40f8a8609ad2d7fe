/**
 * The SQLite side of triage: failure groups (store/triage-sql.ts), the audit log and bulk jobs. Task
 * mutations that go with them (an action and its audit entry, a bulk item and its task) live in the
 * adapter, which owns the transaction and the snapshot cache.
 */
import type Database from 'better-sqlite3';
import { drive } from '../drive.js';
import type * as port from '../port.js';
import * as tr from '../triage-rows.js';
import * as ts from '../triage-sql.js';

const DIALECT: ts.Dialect = {
  param: (n) => `?${n}`,
  table: (name) => name,
};

export class SqliteTriage {
  private readonly insertAudit: Database.Statement;
  private readonly insertAuditTask: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.insertAudit = db.prepare(
      `INSERT INTO audit_log (${tr.AUDIT_COLUMNS}) VALUES (${tr.AUDIT_COLUMNS.split(',')
        .map(() => '?')
        .join(', ')})`,
    );
    this.insertAuditTask = db.prepare('INSERT OR IGNORE INTO audit_tasks (task_id, audit_id) VALUES (?, ?)');
  }

  private all<R>(q: ts.Sql): R[] {
    // better-sqlite3 binds numbered parameters from an object keyed by number.
    return this.db.prepare(q.sql).all(Object.fromEntries(q.args.map((v, i) => [i + 1, v]))) as R[];
  }

  /** Inside the caller's transaction. */
  writeAudit(a: port.AuditDraft): void {
    const r = this.insertAudit.run(...tr.auditValues(a));
    for (const id of a.taskIds) this.insertAuditTask.run(id, r.lastInsertRowid);
  }

  failureGroups(q: port.FailureGroupQuery): port.FailureGroupData {
    return this.db.transaction(() => {
      const { groups, truncated } = drive(ts.groupReads(DIALECT, q), (s) => this.all(s));
      const stuck = this.all<ts.StuckRow>(ts.stuckSql(DIALECT, q));
      const steps: ts.UnfinishedStepRow[] = [];
      for (let i = 0; i < stuck.length; i += 500) {
        const ids = stuck.slice(i, i + 500).map((r) => r.id);
        steps.push(
          ...(this.db
            .prepare(
              `SELECT task_id, name, status, ready_at, lease_expires_at FROM steps
               WHERE task_id IN (${ids.map(() => '?').join(', ')})
                 AND status IN ('pending', 'in_progress', 'waiting_for_retry')
               ORDER BY task_id, position`,
            )
            .all(...ids) as ts.UnfinishedStepRow[]),
        );
      }
      return { groups, truncated, stuck: ts.foldStuck(stuck, steps) };
    })();
  }

  failureGroupTaskIds(q: port.FailureGroupQuery, fingerprint: string, limit: number): string[] {
    return this.all<{ task_id: string }>(ts.groupTasksSql(DIALECT, q, fingerprint, limit)).map(
      (r) => r.task_id,
    );
  }

  appendAudit(entries: readonly port.AuditDraft[]): void {
    this.db.transaction(() => entries.forEach((a) => this.writeAudit(a))).immediate();
  }

  listAudit(q: port.AuditQuery): port.AuditRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const from =
      q.taskId !== undefined ? 'audit_log a JOIN audit_tasks x ON x.audit_id = a.id' : 'audit_log a';
    const add = (clause: string, v: unknown) => {
      where.push(clause);
      args.push(v);
    };
    if (q.taskId !== undefined) add('x.task_id = ?', q.taskId);
    if (q.actor !== undefined) add('a.actor = ?', q.actor);
    if (q.action !== undefined) add('a.action = ?', q.action);
    if (q.outcome !== undefined) add('a.outcome = ?', q.outcome);
    if (q.beforeId !== undefined) add('a.id < ?', q.beforeId);
    if (q.namespaces) {
      where.push(`a.namespace IN (${q.namespaces.map(() => '?').join(', ') || 'NULL'})`);
      args.push(...q.namespaces);
    }
    const rows = this.db
      .prepare(
        `SELECT a.* FROM ${from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY a.id DESC LIMIT ?`,
      )
      .all(...args, q.limit) as tr.AuditRow[];
    return rows.map(tr.auditFromRow);
  }

  createBulkJob(job: port.BulkJobRecord, items: readonly port.BulkItemDraft[], audit: port.AuditDraft): void {
    this.db
      .transaction(() => {
        this.db
          .prepare(
            `INSERT INTO bulk_jobs (${tr.BULK_JOB_COLUMNS}) VALUES (${tr.BULK_JOB_COLUMNS.split(',')
              .map(() => '?')
              .join(', ')})`,
          )
          .run(...tr.bulkJobValues(job));
        const insert = this.db.prepare(
          'INSERT INTO bulk_job_tasks (job_id, position, task_id, status, message) VALUES (?, ?, ?, ?, ?)',
        );
        for (const i of items) insert.run(job.id, i.position, i.taskId, i.status, i.message);
        this.writeAudit(audit);
      })
      .immediate();
  }

  getBulkJob(id: string): port.BulkJobView | null {
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT * FROM bulk_jobs WHERE id = ?').get(id) as
        tr.BulkJobRow | undefined;
      return row ? tr.withCounts(tr.bulkJobFromRow(row), this.counts(id)) : null;
    })();
  }

  private counts(jobId: string): Array<{ status: string; n: number }> {
    return this.db
      .prepare('SELECT status, COUNT(*) AS n FROM bulk_job_tasks WHERE job_id = ? GROUP BY status')
      .all(jobId) as Array<{ status: string; n: number }>;
  }

  listBulkJobs(limit: number): port.BulkJobView[] {
    return this.db.transaction(() =>
      (
        this.db
          .prepare('SELECT * FROM bulk_jobs ORDER BY created_at DESC, id DESC LIMIT ?')
          .all(limit) as tr.BulkJobRow[]
      ).map((r) => tr.withCounts(tr.bulkJobFromRow(r), this.counts(r.id))),
    )();
  }

  bulkItems(jobId: string): port.BulkItemRecord[] {
    return (
      this.db
        .prepare(
          'SELECT position, task_id, status, message, at FROM bulk_job_tasks WHERE job_id = ? ORDER BY position',
        )
        .all(jobId) as tr.BulkItemRow[]
    ).map(tr.bulkItemFromRow);
  }

  leaseBulkJob(
    jobId: string | null,
    owner: string,
    now: number,
    leaseUntil: number,
  ): port.BulkJobRecord | null {
    return this.db
      .transaction(() => {
        const row = (
          jobId === null
            ? this.db
                .prepare(
                  `SELECT * FROM bulk_jobs WHERE status = 'running'
                     AND (lease_owner IS NULL OR lease_expires_at < ? OR lease_owner = ?)
                   ORDER BY created_at LIMIT 1`,
                )
                .get(now, owner)
            : this.db
                .prepare(
                  `SELECT * FROM bulk_jobs WHERE id = ? AND status = 'running'
                     AND (lease_owner IS NULL OR lease_expires_at < ? OR lease_owner = ?)`,
                )
                .get(jobId, now, owner)
        ) as tr.BulkJobRow | undefined;
        if (!row) return null;
        this.db
          .prepare('UPDATE bulk_jobs SET lease_owner = ?, lease_expires_at = ? WHERE id = ?')
          .run(owner, leaseUntil, row.id);
        return { ...tr.bulkJobFromRow(row), leaseOwner: owner, leaseExpiresAt: leaseUntil };
      })
      .immediate();
  }

  pendingBulkItems(jobId: string, limit: number): port.BulkItemRecord[] {
    return (
      this.db
        .prepare(
          `SELECT position, task_id, status, message, at FROM bulk_job_tasks
           WHERE job_id = ? AND status = 'pending' ORDER BY position LIMIT ?`,
        )
        .all(jobId, limit) as tr.BulkItemRow[]
    ).map(tr.bulkItemFromRow);
  }

  /** Inside the caller's transaction: whether the job still runs under this owner's lease. */
  holdsLease(jobId: string, owner: string, now: number): boolean {
    return (
      this.db
        .prepare(
          `SELECT 1 FROM bulk_jobs WHERE id = ? AND status = 'running' AND lease_owner = ? AND lease_expires_at >= ?`,
        )
        .get(jobId, owner, now) !== undefined
    );
  }

  /** Inside the caller's transaction: pending → done/skipped/failed; false when it was not pending. */
  markItem(jobId: string, position: number, status: string, message: string | null, now: number): boolean {
    return (
      this.db
        .prepare(
          `UPDATE bulk_job_tasks SET status = ?, message = ?, at = ? WHERE job_id = ? AND position = ? AND status = 'pending'`,
        )
        .run(status, message, now, jobId, position).changes === 1
    );
  }

  finishBulkJob(jobId: string, status: port.BulkJobStatus, now: number, audit: port.AuditDraft): boolean {
    return this.db
      .transaction(() => {
        const r = this.db
          .prepare(
            `UPDATE bulk_jobs SET status = ?, finished_at = ?, lease_owner = NULL, lease_expires_at = NULL
             WHERE id = ? AND status = 'running'`,
          )
          .run(status, now, jobId);
        if (r.changes !== 1) return false;
        if (status === 'stopped')
          this.db
            .prepare(
              `UPDATE bulk_job_tasks SET status = 'skipped', message = 'job stopped', at = ? WHERE job_id = ? AND status = 'pending'`,
            )
            .run(now, jobId);
        this.writeAudit(audit);
        return true;
      })
      .immediate();
  }
}
