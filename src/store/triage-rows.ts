/**
 * Rows of the triage tables (audit log, bulk jobs) ↔ records, for both adapters: SQLite hands JSON
 * columns back as text, PostgreSQL as parsed values, and bigint counts as strings.
 */
import type {
  AuditDraft,
  AuditOutcome,
  AuditRecord,
  BulkAction,
  BulkItemRecord,
  BulkItemStatus,
  BulkJobRecord,
  BulkJobStatus,
  BulkJobView,
} from './port.js';
import { AUDIT_TASK_IDS_INLINE } from './port.js';
import { jsonText } from './json-text.js';

const json = (v: unknown): unknown => (typeof v === 'string' ? (JSON.parse(v) as unknown) : v);
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export interface AuditRow {
  id: number | string;
  at: number | string;
  actor: string;
  action: string;
  outcome: string;
  reason: string | null;
  namespace: string | null;
  task_ids: unknown;
  task_count: number;
  filter: unknown;
  job_id: string | null;
  detail: unknown;
}

export function auditFromRow(r: AuditRow): AuditRecord {
  return {
    id: num(r.id),
    at: num(r.at),
    actor: r.actor,
    action: r.action,
    outcome: r.outcome as AuditOutcome,
    reason: r.reason,
    namespace: r.namespace,
    taskIds: (json(r.task_ids) as string[] | null) ?? [],
    taskCount: num(r.task_count),
    filter: json(r.filter) as Record<string, unknown> | null,
    jobId: r.job_id,
    detail: json(r.detail) as Record<string, unknown> | null,
  };
}

/** The column values of an audit entry, in AUDIT_COLUMNS order. */
export function auditValues(a: AuditDraft): unknown[] {
  return [
    a.at,
    a.actor,
    a.action,
    a.outcome,
    a.reason,
    a.namespace,
    jsonText(a.taskIds.slice(0, AUDIT_TASK_IDS_INLINE)),
    a.taskIds.length,
    a.filter === null ? null : jsonText(a.filter),
    a.jobId,
    a.detail === null ? null : jsonText(a.detail),
  ];
}

export const AUDIT_COLUMNS =
  'at, actor, action, outcome, reason, namespace, task_ids, task_count, filter, job_id, detail';

export interface BulkJobRow {
  id: string;
  action: string;
  status: string;
  actor: string;
  reason: string;
  filter: unknown;
  step: string | null;
  results: unknown;
  namespaces: unknown;
  max_tasks: number;
  rate_per_second: number;
  created_at: number | string;
  finished_at: number | string | null;
  lease_owner: string | null;
  lease_expires_at: number | string | null;
}

export function bulkJobFromRow(r: BulkJobRow): BulkJobRecord {
  return {
    id: r.id,
    action: r.action as BulkAction,
    status: r.status as BulkJobStatus,
    actor: r.actor,
    reason: r.reason,
    filter: json(r.filter) as Record<string, unknown>,
    step: r.step,
    results: r.results === null ? null : json(r.results),
    namespaces: json(r.namespaces) as string[] | null,
    maxTasks: num(r.max_tasks),
    ratePerSecond: num(r.rate_per_second),
    createdAt: num(r.created_at),
    finishedAt: numOrNull(r.finished_at),
    leaseOwner: r.lease_owner,
    leaseExpiresAt: numOrNull(r.lease_expires_at),
  };
}

export const BULK_JOB_COLUMNS =
  'id, action, status, actor, reason, filter, step, results, namespaces, max_tasks, rate_per_second, created_at';

export function bulkJobValues(j: BulkJobRecord): unknown[] {
  return [
    j.id,
    j.action,
    j.status,
    j.actor,
    j.reason,
    jsonText(j.filter),
    j.step,
    j.results === null || j.results === undefined ? null : jsonText(j.results),
    j.namespaces === null ? null : jsonText(j.namespaces),
    j.maxTasks,
    j.ratePerSecond,
    j.createdAt,
  ];
}

export function withCounts(
  job: BulkJobRecord,
  rows: ReadonlyArray<{ status: string; n: number | string }>,
): BulkJobView {
  const counts: Record<BulkItemStatus, number> = { pending: 0, done: 0, skipped: 0, failed: 0 };
  for (const r of rows) if (r.status in counts) counts[r.status as BulkItemStatus] += num(r.n);
  return { ...job, counts };
}

export interface BulkItemRow {
  position: number;
  task_id: string;
  status: string;
  message: string | null;
  at: number | string | null;
}

export function bulkItemFromRow(r: BulkItemRow): BulkItemRecord {
  return {
    position: num(r.position),
    taskId: r.task_id,
    status: r.status as BulkItemStatus,
    message: r.message,
    at: numOrNull(r.at),
  };
}
