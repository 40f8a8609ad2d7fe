/**
 * Bulk actions: a filter resolved to a fixed list of tasks, each planned by running the action on an
 * in-memory copy (core/bulk-plan.ts). A dry run returns the plan and writes nothing; a real run stores the
 * plan as a job (its tasks pending or skipped, with the audit entry, in one transaction) and hands it to
 * the runner.
 */
import { planBulkTask, type BulkActionSpec, type SkipReason } from '../core/bulk-plan.js';
import type { TaskRecord, TaskSnapshot } from '../core/records.js';
import type { TaskState } from '../core/states.js';
import { TaskerError } from '../errors.js';
import { uuidv7 } from '../runtime/ids.js';
import type { BulkItemDraft, BulkJobView, TaskFilter, TaskStore } from '../store/port.js';
import { auditEntry } from './audit.js';
import type { FailureGroups } from './failure-groups.js';

/** The task list's filter, plus a failure group and explicit ids. */
export interface BulkFilter extends Omit<TaskFilter, 'limit' | 'cursor'> {
  /** A failure group's fingerprint, found in the window of `rangeMs`. */
  failureGroup?: string | undefined;
  /** @default 1 hour */
  rangeMs?: number | undefined;
  taskIds?: string[] | undefined;
}

export interface BulkRequest {
  spec: BulkActionSpec;
  filter: BulkFilter;
  reason: string;
  /** @default 1000 */
  maxTasks?: number | undefined;
  /** @default 50 */
  ratePerSecond?: number | undefined;
  actor?: string | undefined;
  /** The namespaces the actor may act in; null: all. */
  namespaces?: readonly string[] | null | undefined;
  /** The filter as the caller wrote it, for the job and the audit log. @default the filter */
  filterAsGiven?: Record<string, unknown> | undefined;
}

export interface SkippedTask {
  taskId: string;
  status: TaskState | null;
  reason: SkipReason;
  message: string;
}

export interface PlannedTask {
  task: TaskRecord;
  first: string[];
  second: string[];
}

export interface BulkPreview {
  action: BulkActionSpec['action'];
  matched: number;
  wouldChange: number;
  maxTasks: number;
  exceedsMaxTasks: boolean;
  skipped: SkippedTask[];
  /** Matched tasks in namespaces the actor may not act in (never listed). */
  hidden: number;
  /** Per step name, how many tasks: retry rerun/kept, cancel aborted/never run, resolve resolved/unblocked. */
  first: Record<string, number>;
  second: Record<string, number>;
  tasks: PlannedTask[];
}

/** The most tasks one filter may select (max_tasks cannot exceed it either). */
export const SELECTION_CAP = 10_000;
export const DEFAULT_MAX_TASKS = 1000;
export const DEFAULT_RATE = 50;
const DEFAULT_RANGE_MS = 3_600_000;

export class BulkActions {
  constructor(
    private readonly store: TaskStore,
    private readonly groups: FailureGroups,
    private readonly now: () => number,
    private readonly onCreated: () => void,
  ) {}

  async preview(req: BulkRequest): Promise<BulkPreview> {
    const r = checkRequest(req);
    const { tasks, hidden, missing } = await this.select(r.filter, r.namespaces);
    const skipped: SkippedTask[] = missing.map((id) => ({
      taskId: id,
      status: null,
      reason: 'not_visible',
      message: 'no such task in the namespaces this caller may act in',
    }));
    const planned: PlannedTask[] = [];
    const first = new Map<string, number>();
    const second = new Map<string, number>();
    const now = this.now();
    for (const snap of tasks) {
      const plan = planBulkTask(snap, r.spec, now);
      if (!plan.applies) {
        skipped.push({
          taskId: snap.task.id,
          status: snap.task.status,
          reason: plan.reason,
          message: plan.message,
        });
        continue;
      }
      planned.push({ task: snap.task, first: plan.first, second: plan.second });
      for (const s of plan.first) first.set(s, (first.get(s) ?? 0) + 1);
      for (const s of plan.second) second.set(s, (second.get(s) ?? 0) + 1);
    }
    return {
      action: r.spec.action,
      matched: tasks.length + missing.length,
      wouldChange: planned.length,
      maxTasks: r.maxTasks,
      exceedsMaxTasks: planned.length > r.maxTasks,
      skipped,
      hidden,
      first: Object.fromEntries(first),
      second: Object.fromEntries(second),
      tasks: planned,
    };
  }

  /** Plan, refuse past max_tasks, then record the job (it runs in the background). */
  async start(req: BulkRequest): Promise<BulkJobView> {
    const r = checkRequest(req);
    const p = await this.preview(r);
    if (p.exceedsMaxTasks) {
      throw new TaskerError(
        'TOO_MANY_TASKS',
        `the filter selects ${p.wouldChange} tasks to ${r.spec.action.replace('_', ' ')}, more than max_tasks ${r.maxTasks}; narrow the filter or raise max_tasks (at most ${SELECTION_CAP})`,
        { field: 'max_tasks', wouldChange: p.wouldChange, maxTasks: r.maxTasks },
      );
    }
    const now = this.now();
    const id = uuidv7(now);
    const items: BulkItemDraft[] = [
      ...p.tasks.map((t, i) => ({
        position: i,
        taskId: t.task.id,
        status: 'pending' as const,
        message: null,
      })),
      ...p.skipped
        .filter((s) => s.reason !== 'not_visible')
        .map((s, i) => ({
          position: p.tasks.length + i,
          taskId: s.taskId,
          status: 'skipped' as const,
          message: `${s.reason}: ${s.message}`,
        })),
    ];
    const filter = req.filterAsGiven ?? (r.filter as Record<string, unknown>);
    const step = r.spec.action === 'resolve_step' ? r.spec.step : null;
    await this.store.createBulkJob(
      {
        id,
        action: r.spec.action,
        status: 'running',
        actor: r.actor,
        reason: r.reason,
        filter,
        step,
        results: r.spec.action === 'resolve_step' ? r.spec.results : null,
        namespaces: r.namespaces === null ? null : [...r.namespaces],
        maxTasks: r.maxTasks,
        ratePerSecond: r.ratePerSecond,
        createdAt: now,
        finishedAt: null,
        leaseOwner: null,
        leaseExpiresAt: null,
      },
      items,
      auditEntry(now, {
        actor: r.actor,
        action: `bulk.${r.spec.action}`,
        reason: r.reason,
        taskIds: p.tasks.map((t) => t.task.id),
        namespaces: p.tasks.map((t) => t.task.namespace),
        filter,
        jobId: id,
        detail: {
          total: p.tasks.length,
          skipped: p.skipped.length,
          max_tasks: r.maxTasks,
          rate_per_second: r.ratePerSecond,
          ...(step !== null ? { step } : {}),
        },
      }),
    );
    this.onCreated();
    const job = await this.store.getBulkJob(id);
    if (!job) throw new TaskerError('STORE_CONFLICT', `bulk job ${id} was written but cannot be read back`);
    return job;
  }

  /** The filter → snapshots of the visible tasks it selects, how many were hidden, ids not found. */
  private async select(
    f: BulkFilter,
    namespaces: readonly string[] | null,
  ): Promise<{ tasks: TaskSnapshot[]; hidden: number; missing: string[] }> {
    const visible = (ns: string) => namespaces === null || namespaces.includes(ns);
    let ids: string[];
    let missing: string[] = [];
    if (f.taskIds !== undefined || f.failureGroup !== undefined) {
      ids = f.taskIds ?? [];
      if (f.failureGroup !== undefined) {
        const { taskIds: inGroup } = await this.groups.lookup(
          f.failureGroup,
          { rangeMs: f.rangeMs ?? DEFAULT_RANGE_MS, namespaces },
          SELECTION_CAP + 1,
        );
        if (f.taskIds !== undefined) {
          const set = new Set(inGroup);
          ids = ids.filter((id) => set.has(id));
        } else ids = inGroup;
      }
      if (ids.length > SELECTION_CAP) throw tooBroad(ids.length);
      const snaps: TaskSnapshot[] = [];
      for (let i = 0; i < ids.length; i += 500)
        snaps.push(...(await this.store.getTasks(ids.slice(i, i + 500))));
      const found = new Set(snaps.map((s) => s.task.id));
      missing = [...new Set(ids.filter((id) => !found.has(id)))];
      const shown = snaps.filter((s) => visible(s.task.namespace));
      // A task in another namespace reads exactly like one that does not exist.
      missing.push(...snaps.filter((s) => !visible(s.task.namespace)).map((s) => s.task.id));
      return { tasks: shown.filter((s) => matches(s.task, f)), hidden: 0, missing };
    }
    const filter: TaskFilter = { ...f, limit: 1000 };
    const records: TaskRecord[] = [];
    let hidden = 0;
    for (let cursor: string | undefined; ;) {
      const page = await this.store.listTasks({ ...filter, cursor });
      for (const t of page.tasks) {
        if (visible(t.namespace)) records.push(t);
        else hidden += 1;
      }
      if (records.length > SELECTION_CAP) throw tooBroad(records.length);
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    const tasks: TaskSnapshot[] = [];
    for (let i = 0; i < records.length; i += 500)
      tasks.push(...(await this.store.getTasks(records.slice(i, i + 500).map((t) => t.id))));
    return { tasks, hidden, missing };
  }
}

function tooBroad(n: number): TaskerError {
  return new TaskerError(
    'TOO_MANY_TASKS',
    `the filter selects ${n > SELECTION_CAP ? `more than ${SELECTION_CAP}` : n} tasks; narrow it (a namespace, a status, a time range or a failure group)`,
    { field: 'filter', cap: SELECTION_CAP },
  );
}

/** The list filters, applied to tasks found by id or by failure group. */
function matches(t: TaskRecord, f: BulkFilter): boolean {
  return (
    (f.status === undefined || f.status.includes(t.status)) &&
    (f.namespace === undefined || t.namespace === f.namespace) &&
    (f.name === undefined || t.name === f.name) &&
    (f.version === undefined || t.version === f.version) &&
    (f.correlationId === undefined || t.correlationId === f.correlationId) &&
    (f.tag === undefined || t.tags.includes(f.tag)) &&
    (f.createdAfter === undefined || t.createdAt >= f.createdAfter) &&
    (f.createdBefore === undefined || t.createdAt < f.createdBefore)
  );
}

interface CheckedRequest {
  spec: BulkActionSpec;
  filter: BulkFilter;
  reason: string;
  maxTasks: number;
  ratePerSecond: number;
  actor: string;
  namespaces: readonly string[] | null;
}

const FILTER_KEYS = [
  'status',
  'namespace',
  'name',
  'version',
  'correlationId',
  'tag',
  'createdAfter',
  'createdBefore',
  'failureGroup',
  'taskIds',
] as const;

/** Library callers get the same clear errors as the HTTP API (which validates its JSON first). */
function checkRequest(req: BulkRequest): CheckedRequest {
  const bad = (field: string, expected: string, got: unknown) =>
    new TaskerError(
      'INVALID_ARGUMENT',
      `${field}: expected ${expected}, got ${JSON.stringify(got) ?? 'undefined'}`,
      {
        field,
      },
    );
  if (req === null || typeof req !== 'object') throw bad('request', 'an object', req);
  const spec = req.spec as BulkActionSpec | undefined;
  const actions = ['retry', 'cancel', 'resolve_step'];
  if (!spec || !actions.includes(spec.action)) throw bad('action', actions.join(' | '), spec?.action);
  if (spec.action === 'resolve_step' && (typeof spec.step !== 'string' || spec.step === ''))
    throw bad('step', 'the name of the step to resolve', spec.step);
  if (typeof req.reason !== 'string' || req.reason.trim() === '' || req.reason.length > 2000)
    throw bad('reason', 'a non-empty text of at most 2000 characters (why this is done)', req.reason);
  const f = req.filter;
  if (f === null || typeof f !== 'object') throw bad('filter', 'an object', f);
  if (!FILTER_KEYS.some((k) => f[k] !== undefined))
    throw bad(
      'filter',
      `at least one of ${FILTER_KEYS.join(', ')} (an empty filter would select every task)`,
      f,
    );
  if (
    f.taskIds !== undefined &&
    (!Array.isArray(f.taskIds) || f.taskIds.some((id) => typeof id !== 'string'))
  )
    throw bad('filter.task_ids', 'a list of task ids', f.taskIds);
  if (f.taskIds !== undefined && f.taskIds.length > SELECTION_CAP)
    throw bad('filter.task_ids', `at most ${SELECTION_CAP} ids`, f.taskIds.length);
  const maxTasks = req.maxTasks ?? DEFAULT_MAX_TASKS;
  if (!Number.isInteger(maxTasks) || maxTasks < 1 || maxTasks > SELECTION_CAP)
    throw bad('max_tasks', `an integer from 1 to ${SELECTION_CAP}`, maxTasks);
  const rate = req.ratePerSecond ?? DEFAULT_RATE;
  if (typeof rate !== 'number' || !(rate >= 0.1 && rate <= 1000))
    throw bad('rate_per_second', 'a number from 0.1 to 1000', rate);
  return {
    spec,
    filter: f,
    reason: req.reason,
    maxTasks,
    ratePerSecond: rate,
    actor: req.actor ?? 'library',
    namespaces: req.namespaces ?? null,
  };
}
