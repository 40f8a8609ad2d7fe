/**
 * The prune statements' shared parts (both adapters): which tasks a rule selects (core/retention.ts), as
 * an index range. A policy rule reads tasks_status (status, id), a template's rule tasks_template_status
 * (namespace, name, status, id); either way the id bound (uuidv7Floor of the rule's cutoff) ends the range
 * at tasks created before the cutoff, so a prune that finds nothing to do reads nothing. A task that a
 * running bulk job has yet to act on is never selected (bulk_jobs_running, then the job's task index).
 */
import type { PruneRule } from '../core/retention.js';
import type { TaskState } from '../core/states.js';
import { uuidv7Floor } from './cursor.js';

export interface PruneDialect {
  /** The placeholder for the n-th argument (1-based). */
  param(n: number): string;
  /** The same, typed as a task id. */
  uuid(n: number): string;
  table(name: string): string;
}

export interface PruneSql {
  sql: string;
  args: unknown[];
}

/** A task a prune selected: enough to delete it only if it has not changed since, and to report it. */
export interface PrunableTask {
  id: string;
  namespace: string;
  name: string;
  status: TaskState;
  updatedAt: number;
}

/** What a dry run reports: the tasks a prune would delete now, by template and state. */
export interface PruneCount {
  namespace: string;
  name: string;
  status: TaskState;
  count: number;
}

export const PRUNABLE_COLUMNS = 't.id, t.namespace, t.name, t.status, t.updated_at AS updated_at';

/** `t` (tasks) is one the rule selects. */
export function ruleWhere(
  d: PruneDialect,
  r: PruneRule,
  arg: (v: unknown, uuid?: boolean) => string,
): string {
  const where = [
    `t.status = ${arg(r.status)}`,
    `t.finished_at < ${arg(r.finishedBefore)}`,
    // A task finishes after it was created and its id is never older than its creation, so every task the
    // rule selects has an id below the cutoff's floor: "finished long ago" becomes an index range (a clock
    // stepping back can only keep a task longer).
    `t.id < ${arg(uuidv7Floor(r.finishedBefore), true)}`,
  ];
  if (r.namespace !== undefined) where.push(`t.namespace = ${arg(r.namespace)}`);
  if (r.name !== undefined) where.push(`t.name = ${arg(r.name)}`);
  for (const x of r.except ?? [])
    where.push(`NOT (t.namespace = ${arg(x.namespace)} AND t.name = ${arg(x.name)})`);
  where.push(
    `NOT EXISTS (SELECT 1 FROM ${d.table('bulk_jobs')} j JOIN ${d.table('bulk_job_tasks')} b
       ON b.job_id = j.id AND b.task_id = t.id WHERE j.status = 'running' AND b.status = 'pending')`,
  );
  return where.join(' AND ');
}

/** Numbered arguments after `preset` (the delete's re-check binds its batch first). */
export function builder(d: PruneDialect, preset: readonly unknown[] = []) {
  const args: unknown[] = [...preset];
  const arg = (v: unknown, uuid = false): string => {
    args.push(v);
    return uuid ? d.uuid(args.length) : d.param(args.length);
  };
  return { args, arg };
}

/** One rule's tasks, oldest first, at most `limit`. */
export function candidatesSql(d: PruneDialect, r: PruneRule, limit: number): PruneSql {
  const { args, arg } = builder(d);
  const where = ruleWhere(d, r, arg);
  return {
    sql: `SELECT ${PRUNABLE_COLUMNS} FROM ${d.table('tasks')} t WHERE ${where} ORDER BY t.id LIMIT ${arg(limit)}`,
    args,
  };
}

/** One rule's tasks counted by template and state. */
export function countSql(d: PruneDialect, r: PruneRule): PruneSql {
  const { args, arg } = builder(d);
  const where = ruleWhere(d, r, arg);
  return {
    sql: `SELECT t.namespace, t.name, t.status, COUNT(*) AS count
          FROM ${d.table('tasks')} t WHERE ${where} GROUP BY t.namespace, t.name, t.status`,
    args,
  };
}

/** Tables holding a task's rows, children first (deleted in this order, the task row last). */
export const TASK_CHILD_TABLES = ['step_attempts', 'transition_log', 'task_tags', 'steps'] as const;

export interface CountRow {
  namespace: string;
  name: string;
  status: string;
  count: number | string;
}

export function countFromRow(r: CountRow): PruneCount {
  return {
    namespace: r.namespace,
    name: r.name,
    status: r.status as TaskState,
    count: Number(r.count),
  };
}

export interface PrunableRow {
  id: string;
  namespace: string;
  name: string;
  status: string;
  updated_at: number | string;
}

export function prunableFromRow(r: PrunableRow): PrunableTask {
  return {
    id: r.id,
    namespace: r.namespace,
    name: r.name,
    status: r.status as TaskState,
    updatedAt: Number(r.updated_at),
  };
}
