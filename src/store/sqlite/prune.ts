/**
 * Pruning on SQLite: the selection is store/prune-sql.ts's; the delete re-checks each selected task
 * inside one IMMEDIATE transaction and deletes its rows by task id, children first. Foreign-key
 * enforcement is off for that transaction: with it on, every deleted step makes SQLite look for
 * attempts referencing it, and step_attempts has no index on step_id alone (its key starts with the
 * task), so each step deleted cost a scan of every attempt. The children are deleted explicitly first,
 * so nothing is left that a key would have cascaded to.
 */
import type Database from 'better-sqlite3';
import type { PruneRule } from '../../core/retention.js';
import type { StoreStats } from '../port.js';
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

const DIALECT: PruneDialect = { param: (n) => `?${n}`, uuid: (n) => `?${n}`, table: (name) => name };

/** better-sqlite3 binds numbered parameters from an object keyed by number. */
const numbered = (args: readonly unknown[]) => Object.fromEntries(args.map((v, i) => [i + 1, v]));

export class SqlitePrune {
  constructor(
    private readonly db: Database.Database,
    /** The adapter's write transaction (IMMEDIATE, snapshot cache kept in step). */
    private readonly tx: <T>(fn: () => T) => T,
  ) {}

  find(rule: PruneRule, limit: number): PrunableTask[] {
    const q = candidatesSql(DIALECT, rule, limit);
    return (this.db.prepare(q.sql).all(numbered(q.args)) as PrunableRow[]).map(prunableFromRow);
  }

  count(rules: readonly PruneRule[]): PruneCount[] {
    return rules.flatMap((rule) => {
      const q = countSql(DIALECT, rule);
      return (this.db.prepare(q.sql).all(numbered(q.args)) as CountRow[]).map(countFromRow);
    });
  }

  delete(tasks: readonly PrunableTask[], rule: PruneRule): string[] {
    if (tasks.length === 0) return [];
    // ?1 and ?2 are the task and the updated_at it was read at; the rule's own arguments follow.
    const args: unknown[] = [null, null];
    const where = ruleWhere(DIALECT, rule, (v) => {
      args.push(v);
      return `?${args.length}`;
    });
    const check = this.db.prepare(`SELECT 1 FROM tasks t WHERE t.id = ?1 AND t.updated_at = ?2 AND ${where}`);
    const children = TASK_CHILD_TABLES.map((table) =>
      this.db.prepare(`DELETE FROM ${table} WHERE task_id = ?`),
    );
    const task = this.db.prepare('DELETE FROM tasks WHERE id = ?');
    const enforced = this.db.pragma('foreign_keys', { simple: true }) === 1;
    // A no-op inside a transaction, so set around it; nothing else runs on this connection meanwhile.
    if (enforced) this.db.pragma('foreign_keys = OFF');
    try {
      return this.tx(() => {
        const gone: string[] = [];
        for (const t of tasks) {
          args[0] = t.id;
          args[1] = t.updatedAt;
          if (check.get(numbered(args)) === undefined) continue;
          for (const c of children) c.run(t.id);
          if (task.run(t.id).changes === 1) gone.push(t.id);
        }
        return gone;
      });
    } finally {
      if (enforced) this.db.pragma('foreign_keys = ON');
    }
  }

  pruneAudit(before: number, limit: number): number {
    const ids = this.db
      .prepare('SELECT id FROM audit_log WHERE at < ? ORDER BY id LIMIT ?')
      .pluck()
      .all(before, limit) as number[];
    if (ids.length === 0) return 0;
    const links = this.db.prepare('DELETE FROM audit_tasks WHERE audit_id = ?');
    const entry = this.db.prepare('DELETE FROM audit_log WHERE id = ? AND at < ?');
    return this.tx(() => {
      let n = 0;
      for (const id of ids) {
        links.run(id);
        n += entry.run(id, before).changes;
      }
      return n;
    });
  }

  stats(): StoreStats {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    const at = this.db.prepare('SELECT created_at FROM tasks ORDER BY id LIMIT 1').pluck().get() as
      number | undefined;
    return { bytes: pages * size, oldestTaskCreatedAt: at ?? null };
  }

  countAudit(before: number): number {
    return this.db.prepare('SELECT COUNT(*) FROM audit_log WHERE at < ?').pluck().get(before) as number;
  }
}
