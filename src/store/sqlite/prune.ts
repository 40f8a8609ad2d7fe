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
import type { ArchivedTask } from '../../core/archive-format.js';
import { businessKeys } from '../../core/business-impact.js';
import { attemptCause } from '../../core/failure-groups.js';
import type { StepRecord } from '../../core/records.js';
import {
  ATTEMPT_INSERT,
  rowRunner,
  STEP_READ,
  TASK_INSERT,
  TASK_TAGS,
  TRANSITION_LOG_INSERT,
  type AttemptRow,
  type NewTaskRow,
  type NewTransitionLogRow,
} from '../columns.js';
import type { StoredTemplateRetention, StoreStats } from '../port.js';
import { transitionEntries } from '../rows.js';
import { insertSql } from './sql.js';
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

const runTask = rowRunner<NewTaskRow, Database.RunResult>(TASK_INSERT);
const runStep = rowRunner<StepRecord, Database.RunResult>(STEP_READ);
const runTag = rowRunner<{ taskId: string; tag: string }, Database.RunResult>(TASK_TAGS);
const runAttempt = rowRunner<AttemptRow, Database.RunResult>(ATTEMPT_INSERT);
const runLog = rowRunner<NewTransitionLogRow, Database.RunResult>(TRANSITION_LOG_INSERT);

/** 8 MiB of 4 KiB pages: a few milliseconds of page moves. */
const GIVE_BACK_PAGES = 2048;

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
    const { args, arg } = builder(DIALECT, [null, null]);
    const where = ruleWhere(DIALECT, rule, arg);
    const check = this.db.prepare(`SELECT 1 FROM tasks t WHERE t.id = ?1 AND t.updated_at = ?2 AND ${where}`);
    const children = TASK_CHILD_TABLES.map((table) =>
      this.db.prepare(`DELETE FROM ${table} WHERE task_id = ?`),
    );
    const task = this.db.prepare('DELETE FROM tasks WHERE id = ?');
    const enforced = this.db.pragma('foreign_keys', { simple: true }) === 1;
    // A no-op inside a transaction, so set around it; nothing else runs on this connection meanwhile.
    if (enforced) this.db.pragma('foreign_keys = OFF');
    let gone: string[];
    try {
      gone = this.tx(() => {
        const out: string[] = [];
        for (const t of tasks) {
          args[0] = t.id;
          args[1] = t.updatedAt;
          if (check.get(numbered(args)) === undefined) continue;
          for (const c of children) c.run(t.id);
          if (task.run(t.id).changes === 1) out.push(t.id);
        }
        return out;
      });
    } finally {
      if (enforced) this.db.pragma('foreign_keys = ON');
    }
    this.giveBack();
    return gone;
  }

  /**
   * Hand freed pages back to the filesystem, at most GIVE_BACK_PAGES per batch so the write lock is held
   * briefly (a database created before incremental auto-vacuum reuses its free pages instead: see
   * docs/retention.md).
   */
  private giveBack(): void {
    if (this.db.pragma('auto_vacuum', { simple: true }) !== 2) return;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    if (free > 0) this.db.pragma(`incremental_vacuum(${Math.min(free, GIVE_BACK_PAGES)})`);
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

  /** See the PostgreSQL adapter: whole tasks back in, one transaction, taken ids skipped. */
  importTasks(list: readonly ArchivedTask[]): { imported: string[]; skipped: string[] } {
    const task = this.db.prepare(`${insertSql('tasks', TASK_INSERT)} ON CONFLICT DO NOTHING`);
    const step = this.db.prepare(insertSql('steps', STEP_READ));
    const tag = this.db.prepare(`${insertSql('task_tags', TASK_TAGS)} ON CONFLICT DO NOTHING`);
    const attempt = this.db.prepare(insertSql('step_attempts', ATTEMPT_INSERT));
    const log = this.db.prepare(insertSql('transition_log', TRANSITION_LOG_INSERT));
    return this.tx(() => {
      const imported: string[] = [];
      const skipped: string[] = [];
      for (const a of list) {
        const t = a.task;
        if (runTask(task, { task: t, keys: businessKeys(t.business, t.context) }).changes === 0) {
          skipped.push(t.id);
          continue;
        }
        for (const s of a.steps) runStep(step, s);
        for (const x of t.tags) runTag(tag, { taskId: t.id, tag: x });
        for (const x of a.attempts) runAttempt(attempt, { attempt: x, cause: attemptCause(t, x) });
        if (a.transitions.length > 0)
          runLog(log, { taskId: t.id, entries: transitionEntries(a.transitions) });
        imported.push(t.id);
      }
      return { imported, skipped };
    });
  }

  templateRetentions(): StoredTemplateRetention[] {
    return this.db
      .prepare('SELECT namespace, name, version, retention FROM template_retention')
      .all() as StoredTemplateRetention[];
  }

  saveTemplateRetentions(rows: readonly StoredTemplateRetention[], now: number): void {
    const upsert = this.db.prepare(
      `INSERT INTO template_retention (namespace, name, version, retention, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (namespace, name) DO UPDATE
         SET version = excluded.version, retention = excluded.retention, updated_at = excluded.updated_at`,
    );
    this.tx(() => {
      for (const r of rows) upsert.run(r.namespace, r.name, r.version, r.retention, now);
    });
  }

  stats(): StoreStats {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    const at = this.db.prepare('SELECT created_at FROM tasks ORDER BY id LIMIT 1').pluck().get() as
      number | undefined;
    return { bytes: pages * size, oldestTaskCreatedAt: at ?? null };
  }

  /** The rowid's maximum: the b-tree's last entry, not a scan. */
  activityMark(): number {
    return (this.db.prepare('SELECT max(id) FROM transition_log').pluck().get() as number | null) ?? 0;
  }

  countAudit(before: number): number {
    return this.db.prepare('SELECT COUNT(*) FROM audit_log WHERE at < ?').pluck().get(before) as number;
  }
}
