/**
 * Pruning on PostgreSQL: the selection is store/prune-sql.ts's; the delete locks the selected task rows
 * (waiting for an operator action in flight on one, then re-checking it), and deletes the children by
 * task id, each an index range, then the task rows, in one transaction.
 */
import type { PruneRule } from '../../core/retention.js';
import {
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
import type { StoreStats } from '../port.js';
import type { PgPool } from './pool.js';

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
      const args: unknown[] = [tasks.map((x) => x.id), tasks.map((x) => x.updatedAt)];
      const arg = (v: unknown, uuid = false) => {
        args.push(v);
        return uuid ? this.dialect.uuid(args.length) : this.dialect.param(args.length);
      };
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

  async countAudit(before: number): Promise<number> {
    const r = await this.db.query<{ n: string }>(
      `SELECT COUNT(*) AS n FROM ${this.db.t('audit_log')} WHERE at < $1`,
      [before],
    );
    return Number(r.rows[0]?.n ?? 0);
  }
}
