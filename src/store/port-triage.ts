/**
 * The triage half of the store port (see port.ts, which re-exports it): failure groups as SQL counts
 * them, the audit log and bulk jobs.
 */
import type { StuckTask } from '../core/failure-groups.js';
import type { TaskSnapshot } from '../core/records.js';
import type { TaskerEvent } from '../events/catalog.js';

export interface FailureGroupQuery {
  from: number;
  to: number;
  now: number;
  bucketMs: number;
  /** Added to the largest step timeout before a running task without progress counts as stuck. */
  stuckGraceMs: number;
  namespace?: string | undefined;
  name?: string | undefined;
  namespaces?: readonly string[] | null | undefined;
  /** Failure groups returned at most (the most costly); `truncated` says when more exist. */
  maxGroups: number;
}

export interface FailureGroupKey {
  namespace: string;
  name: string;
  version: string;
  step: string;
  errorType: string | null;
  signature: string;
}

/** One group of failing attempts as SQL counted it. */
export interface FailureGroupRow extends FailureGroupKey {
  fingerprint: string;
  tasks: number;
  attempts: number;
  failed: number;
  retrying: number;
  recovered: number;
  cancelled: number;
  firstSeen: number;
  lastSeen: number;
  revenueAtRisk: number;
  /** Distinct named customers among the tasks at risk, and those at risk without a customer. */
  namedCustomers: number;
  anonymousCustomers: number;
  message: string | null;
  examples: string[];
  workers: string[];
  /** Failing attempts per bucket of the window. */
  series: Array<{ bucket: number; attempts: number }>;
}

/** A stuck task as the store reads it (`step`: its first unfinished step in DAG order). */
export type StuckTaskRow = StuckTask;

export interface FailureGroupData {
  groups: FailureGroupRow[];
  /** More failure groups than maxGroups exist. */
  truncated: boolean;
  stuck: StuckTaskRow[];
}

export type AuditOutcome = 'ok' | 'refused' | 'failed';

export interface AuditDraft {
  at: number;
  actor: string;
  action: string;
  outcome: AuditOutcome;
  reason: string | null;
  /** The one namespace of the tasks touched, or null (several, none). */
  namespace: string | null;
  taskIds: readonly string[];
  filter: Record<string, unknown> | null;
  jobId: string | null;
  detail: Record<string, unknown> | null;
}

export interface AuditRecord extends AuditDraft {
  id: number;
  taskCount: number;
}

export interface AuditQuery {
  taskId?: string | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  outcome?: AuditOutcome | undefined;
  /** Entries with a smaller id (keyset). */
  beforeId?: number | undefined;
  /** Only entries of these namespaces (a limited token); null: all. */
  namespaces?: readonly string[] | null | undefined;
  limit: number;
}

/** Audit rows keep at most this many task ids inline; `taskCount` has the total, audit_tasks all of them. */
export const AUDIT_TASK_IDS_INLINE = 100;

export type BulkAction = 'retry' | 'cancel' | 'resolve_step';
export type BulkJobStatus = 'running' | 'completed' | 'stopped' | 'failed';
export type BulkItemStatus = 'pending' | 'done' | 'skipped' | 'failed';

export interface BulkJobRecord {
  id: string;
  action: BulkAction;
  status: BulkJobStatus;
  actor: string;
  reason: string;
  filter: Record<string, unknown>;
  step: string | null;
  results: unknown;
  /** The namespaces the actor was limited to, re-checked for every task; null: all. */
  namespaces: string[] | null;
  maxTasks: number;
  ratePerSecond: number;
  createdAt: number;
  finishedAt: number | null;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
}

export interface BulkJobView extends BulkJobRecord {
  counts: Record<BulkItemStatus, number>;
}

export interface BulkItemDraft {
  position: number;
  taskId: string;
  status: 'pending' | 'skipped';
  message: string | null;
}

export interface BulkItemRecord extends Omit<BulkItemDraft, 'status'> {
  status: BulkItemStatus;
  at: number | null;
}

export type BulkItemApplied =
  | { applied: true; snapshot: TaskSnapshot; events: TaskerEvent[] }
  | { applied: false; why: 'lease_lost' | 'not_pending' | 'skipped'; message?: string | undefined };
