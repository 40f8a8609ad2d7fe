/**
 * Pruning on PostgreSQL: the selection is store/prune-sql.ts's; the delete locks the selected task rows
 * (waiting for an operator action in flight on one, then re-checking it), and deletes the children by
 * task id, each an index range, then the task rows, in one transaction.
 */
import type { PruneRule } from '../../core/retention.js';
import {
  builder,
  candidatesSql,
  countFromRow,
  countSql,
  prunableFromRow,
  ruleWhere,
  TASK_CHILD_TABLES,
  type CountRow,
  type PrunableRow,
  type PrunableTask,
  type PruneCount,
  type PruneDialect,
} from '../prune-sql.js';
import type { ArchivedTask } from '../../core/archive-format.js';
import { businessKeys } from '../../core/business-impact.js';
import { attemptCause } from '../../core/failure-groups.js';
import { ATTEMPT_INSERT, STEP_READ, TASK_INSERT, TASK_TAGS, TRANSITION_LOG_INSERT } from '../columns.js';
import type { StoredTemplateRetention, StoreStats } from '../port.js';
import { transitionEntries } from '../rows.js';
import type { PgPool } from './pool.js';
import * as sql from './sql.js';

export class PgPrune {
  private readonly dialect: PruneDialect;

  constructor(private readonly db: PgPool) {
    this.dialect = { param: (n) => `$${n}`, uuid: (n) => `$${n}::uuid`, table: db.t };
  }

  async find(rule: PruneRule, limit: number): Promise<PrunableTask[]> {
    const q = candidatesSql(this.dialect, rule, limit);
    return (await this.db.query<PrunableRow>(q.sql, q.args)).rows.map(prunableFromRow);
  }

  async count(rules: readonly PruneRule[]): Promise<PruneCount[]> {
    const out: PruneCount[] = [];
    for (const rule of rules) {
      const q = countSql(this.dialect, rule);
      out.push(...(await this.db.query<CountRow>(q.sql, q.args)).rows.map(countFromRow));
    }
    return out;
  }

  delete(tasks: readonly PrunableTask[], rule: PruneRule): Promise<string[]> {
    if (tasks.length === 0) return Promise.resolve([]);
    const t = this.db.t;
    return this.db.tx(async (c) => {
      // $1 and $2 are the batch's ids and the updated_at each was read at; the rule's arguments follow.
      const { args, arg } = builder(this.dialect, [tasks.map((x) => x.id), tasks.map((x) => x.updatedAt)]);
      const where = ruleWhere(this.dialect, rule, arg);
      const locked = await c.query<{ id: string }>(
        `SELECT t.id FROM ${t('tasks')} t
           JOIN unnest($1::uuid[], $2::bigint[]) AS v(id, updated_at) ON t.id = v.id AND t.updated_at = v.updated_at
         WHERE ${where} FOR UPDATE OF t`,
        args,
      );
      const ids = locked.rows.map((r) => r.id);
      if (ids.length === 0) return [];
      for (const table of TASK_CHILD_TABLES)
        await c.query(`DELETE FROM ${t(table)} WHERE task_id = ANY($1::uuid[])`, [ids]);
      const gone = await c.query<{ id: string }>(
        `DELETE FROM ${t('tasks')} WHERE id = ANY($1::uuid[]) RETURNING id`,
        [ids],
      );
      return gone.rows.map((r) => r.id);
    });
  }

  pruneAudit(before: number, limit: number): Promise<number> {
    const t = this.db.t;
    return this.db.tx(async (c) => {
      const doomed = await c.query<{ id: string }>(
        `SELECT id FROM ${t('audit_log')} WHERE at < $1 ORDER BY id LIMIT $2 FOR UPDATE`,
        [before, limit],
      );
      const ids = doomed.rows.map((r) => r.id);
      if (ids.length === 0) return 0;
      await c.query(`DELETE FROM ${t('audit_tasks')} WHERE audit_id = ANY($1::bigint[])`, [ids]);
      const r = await c.query(`DELETE FROM ${t('audit_log')} WHERE id = ANY($1::bigint[])`, [ids]);
      return r.rowCount ?? 0;
    });
  }

  /**
   * Archived tasks back in, whole and as they were (ids, times, history), in one transaction. A task
   * whose id (or idempotency key) is taken is skipped, not overwritten.
   */
  importTasks(list: readonly ArchivedTask[]): Promise<{ imported: string[]; skipped: string[] }> {
    if (list.length === 0) return Promise.resolve({ imported: [], skipped: [] });
    return this.db.tx(async (c) => {
      const p = new sql.Params(this.db.t);
      const rows = list.map((a) => ({ task: a.task, keys: businessKeys(a.task.business, a.task.context) }));
      const ins = await c.query<{ id: string }>(
        `${p.insert('tasks', TASK_INSERT, rows)} ON CONFLICT DO NOTHING RETURNING id`,
        p.args,
      );
      const fresh = new Set(ins.rows.map((r) => r.id));
      const mine = list.filter((a) => fresh.has(a.task.id));
      await sql.insertRows(
        c,
        this.db.t,
        'steps',
        STEP_READ,
        mine.flatMap((a) => a.steps),
      );
      await sql.insertRows(
        c,
        this.db.t,
        'task_tags',
        TASK_TAGS,
        mine.flatMap((a) => a.task.tags.map((tag) => ({ taskId: a.task.id, tag }))),
        ' ON CONFLICT DO NOTHING',
      );
      await sql.insertRows(
        c,
        this.db.t,
        'step_attempts',
        ATTEMPT_INSERT,
        mine.flatMap((a) => a.attempts.map((x) => ({ attempt: x, cause: attemptCause(a.task, x) }))),
      );
      await sql.insertRows(
        c,
        this.db.t,
        'transition_log',
        TRANSITION_LOG_INSERT,
        mine
          .filter((a) => a.transitions.length > 0)
          .map((a) => ({ taskId: a.task.id, entries: transitionEntries(a.transitions) })),
      );
      // Steps came with their ids: the sequence must not hand them out again.
      const seq = this.db.t('steps_id_seq');
      await c.query(
        `SELECT setval('${seq}', GREATEST((SELECT last_value FROM ${seq}), (SELECT COALESCE(MAX(id), 1) FROM ${this.db.t('steps')})))`,
      );
      return {
        imported: list.filter((a) => fresh.has(a.task.id)).map((a) => a.task.id),
        skipped: list.filter((a) => !fresh.has(a.task.id)).map((a) => a.task.id),
      };
    });
  }

  async templateRetentions(): Promise<StoredTemplateRetention[]> {
    return (
      await this.db.query<StoredTemplateRetention>(
        `SELECT namespace, name, version, retention FROM ${this.db.t('template_retention')}`,
        [],
      )
    ).rows;
  }

  async saveTemplateRetentions(rows: readonly StoredTemplateRetention[], now: number): Promise<void> {
    if (rows.length === 0) return;
    await this.db.query(
      `INSERT INTO ${this.db.t('template_retention')} (namespace, name, version, retention, updated_at)
       SELECT n, m, v, r, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(n, m, v, r)
       ON CONFLICT (namespace, name) DO UPDATE
         SET version = excluded.version, retention = excluded.retention, updated_at = excluded.updated_at`,
      [
        rows.map((r) => r.namespace),
        rows.map((r) => r.name),
        rows.map((r) => r.version),
        rows.map((r) => r.retention),
        now,
      ],
    );
  }

  async stats(): Promise<StoreStats> {
    const size = await this.db.query<{ bytes: string | null }>(
      `SELECT SUM(pg_total_relation_size(c.oid)) AS bytes FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`,
      [this.db.schema],
    );
    const oldest = await this.db.query<{ created_at: string }>(
      `SELECT created_at FROM ${this.db.t('tasks')} ORDER BY id LIMIT 1`,
      [],
    );
    const at = oldest.rows[0]?.created_at;
    return {
      bytes: Number(size.rows[0]?.bytes ?? 0),
      oldestTaskCreatedAt: at === undefined ? null : Number(at),
    };
  }

  /**
   * The transition ids' sequence, not max(id): transition_log's key leads with task_id. A sequence's
   * last_value is not transactional, so it also moves for a write that rolled back, which is still work.
   * A fresh sequence reads 1 before its first value as after it: is_called tells them apart.
   */
  async activityMark(): Promise<number> {
    const r = await this.db.query<{ v: string }>(
      `SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS v FROM ${this.db.t('transition_log_id_seq')}`,
      [],
    );
    return Number(r.rows[0]?.v ?? 0);
  }

  async countAudit(before: number): Promise<number> {
    const r = await this.db.query<{ n: string }>(
      `SELECT COUNT(*) AS n FROM ${this.db.t('audit_log')} WHERE at < $1`,
      [before],
    );
    return Number(r.rows[0]?.n ?? 0);
  }
}
