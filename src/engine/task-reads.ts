/**
 * Everything that reads: one task described (steps in DAG order, attempts), lists and counts, workers of
 * the registry, why a step waits, throughput and health figures, failure groups, comparisons with a good
 * run, bulk jobs and the audit log. Nothing here writes.
 */
import type { AttemptRecord, TaskRecord, TaskSnapshot, TransitionRecord } from '../core/records.js';
import { explainWaits, type StepWait } from '../core/step-waits.js';
import { describeTask, type TaskDescription } from '../core/task-description.js';
import { impactFromGroups, type BusinessImpact } from '../core/business-impact.js';
import type { FailureGroup } from '../core/failure-groups.js';
import { statsFromHistogram, type StepStats } from '../core/step-stats.js';
import type { TaskState } from '../core/states.js';
import { TASK_STATUS_WORDS, taskStateOf, type TaskStatusWord } from '../core/status-words.js';
import { TaskerError } from '../errors.js';
import {
  READY_COUNT_CAP,
  type ActiveCounts,
  type AnalyticsQuery,
  type AuditQuery,
  type AuditRecord,
  type BulkItemRecord,
  type BulkJobView,
  type TaskFilter,
  type TaskPage,
  type TaskStore,
  type ThroughputQuery,
  type ThroughputRow,
  type WorkerRecord,
} from '../store/port.js';
import type { TemplateRegistry } from '../templates/registry.js';
import { compareWithBaseline, type Comparison } from '../triage/compare.js';
import type { FailureGroups, FailureGroupsQuery, FailureGroupsReport } from '../triage/failure-groups.js';

/** A task filter as the library takes it: statuses in the seed's words (`completed`) or the stored ones. */
export type TaskQuery = Omit<TaskFilter, 'status'> & {
  status?: ReadonlyArray<TaskStatusWord | TaskState> | undefined;
};

function storedFilter(query: TaskQuery): TaskFilter {
  if (query.status === undefined) return { ...query, status: undefined };
  const expected = `an array of ${TASK_STATUS_WORDS.join(', ')}`;
  if (!Array.isArray(query.status))
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `status: expected ${expected}, got ${JSON.stringify(query.status)}`,
      {
        field: 'status',
      },
    );
  const status = (query.status as readonly unknown[]).map((word) => {
    const state = typeof word === 'string' ? taskStateOf(word) : undefined;
    if (state === undefined)
      throw new TaskerError('INVALID_ARGUMENT', `status: expected ${expected}, got ${JSON.stringify(word)}`, {
        field: 'status',
        value: word,
      });
    return state;
  });
  return { ...query, status };
}

export interface TaskDetails extends TaskDescription {
  attempts: AttemptRecord[];
}

/** A worker from the registry, with what its row says about it now. */
export interface WorkerView extends WorkerRecord {
  status: 'live' | 'stopped' | 'lost';
}

export interface RecentPerformance {
  avgTaskSeconds: number | null;
  avgStepSeconds: number | null;
  sampledTasks: number;
}

/** Ready steps of one task whose place in the queue is counted (the rest say "ahead: unknown"). */
const MAX_RANKED_STEPS = 100;

/** How far back stopped and lost workers are listed. */
export const WORKER_WINDOW_MS = 3_600_000;

export class TaskReads {
  constructor(
    private readonly store: TaskStore,
    private readonly templates: TemplateRegistry,
    private readonly groups: FailureGroups,
    private readonly now: () => number,
  ) {}

  async getTask(taskId: string): Promise<TaskDetails> {
    const snap = await this.store.getTask(taskId);
    if (!snap) throw new TaskerError('TASK_NOT_FOUND', `no task with id ${taskId}`, { taskId });
    const attempts = await this.store.getAttempts(taskId);
    return { ...describeTask(snap, attempts), attempts };
  }

  async listTasks(query: TaskQuery): Promise<TaskPage> {
    const filter = storedFilter(query);
    if (
      filter.limit !== undefined &&
      (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > 1000)
    ) {
      throw new TaskerError(
        'INVALID_ARGUMENT',
        `limit: expected an integer from 1 to 1000, got ${filter.limit}`,
        { field: 'limit' },
      );
    }
    return this.store.listTasks(filter);
  }

  async countTasks(query: TaskQuery): Promise<number> {
    return this.store.countTasks(storedFilter(query));
  }

  async describeTasks(taskIds: readonly string[]): Promise<TaskDetails[]> {
    const [snaps, attempts] = await Promise.all([
      this.store.getTasks(taskIds),
      this.store.getAttemptsFor(taskIds),
    ]);
    const byTask = new Map<string, AttemptRecord[]>();
    for (const a of attempts) {
      const list = byTask.get(a.taskId);
      if (list) list.push(a);
      else byTask.set(a.taskId, [a]);
    }
    return snaps.map((s) => {
      const own = byTask.get(s.task.id) ?? [];
      return { ...describeTask(s, own), attempts: own };
    });
  }

  async recentPerformance(since: number): Promise<RecentPerformance> {
    const { tasks } = await this.store.listTasks({ status: ['complete'], createdAfter: since, limit: 200 });
    const durations = tasks.flatMap((t) =>
      t.finishedAt === null ? [] : [t.finishedAt - (t.startedAt ?? t.createdAt)],
    );
    const attempts = tasks.length ? await this.store.getAttemptsFor(tasks.map((t) => t.id)) : [];
    const avg = (xs: number[]) =>
      xs.length ? Math.round(xs.reduce((a, b) => a + b, 0) / xs.length) / 1000 : null;
    return {
      avgTaskSeconds: avg(durations),
      avgStepSeconds: avg(attempts.filter((a) => a.outcome === 'complete').map((a) => a.durationMs)),
      sampledTasks: tasks.length,
    };
  }

  async listWorkers(windowMs: number, namespaces: readonly string[] | null): Promise<WorkerView[]> {
    const now = this.now();
    const rows = await this.store.listWorkers(now, now - windowMs);
    // Seen from some namespaces only, a worker is the handlers it has for them, or nothing.
    const visible = namespaces === null ? null : this.templates.handlerNames((ns) => namespaces.includes(ns));
    return rows.flatMap((w): WorkerView[] => {
      const handlers = visible ? w.handlers.filter((h) => visible.has(h)) : w.handlers;
      if (visible && handlers.length === 0) return [];
      const status = w.stoppedAt !== null ? 'stopped' : w.expiresAt < now ? 'lost' : 'live';
      return [{ ...w, handlers, status }];
    });
  }

  throughput(q: ThroughputQuery): Promise<ThroughputRow[]> {
    return this.store.throughput(q);
  }

  activeCounts(): Promise<ActiveCounts> {
    return this.store.activeCounts(this.now());
  }

  async countReady(namespaces: readonly string[] | null): Promise<number> {
    return (await this.store.countReady(this.now(), { namespaces })).total;
  }

  async explainWaits(
    d: TaskDescription,
    namespaces: readonly string[] | null,
  ): Promise<Map<string, StepWait>> {
    const now = this.now();
    // Only a running step (is its worker alive?) and a ready one (its place in the queue) are explained
    // from the registry and the backlog. A finished or failed task, the most read in an investigation,
    // needs neither: counting a backlog of 10,000 ready steps for it cost PostgreSQL 10-15 ms a detail.
    const waitsOnWorkers = (s: TaskDescription['steps'][number]) =>
      s.status === 'in_progress' ||
      ((s.status === 'pending' || s.status === 'waiting_for_retry') && s.readyAt !== null);
    if (d.task.status === 'cancelled' || !d.steps.some(waitsOnWorkers))
      return explainWaits(d, {
        now,
        liveWorkers: [],
        countCap: READY_COUNT_CAP,
        goneWorkers: new Set(),
        backlog: 0,
        aheadOf: () => null,
      });
    // Each ready step's place in the queue: one statement for all of them (a wide DAG has many).
    const readyAts = [
      ...new Set(
        d.steps.flatMap((s) =>
          s.readyAt !== null &&
          s.readyAt <= now &&
          (s.status === 'pending' || s.status === 'waiting_for_retry')
            ? [s.readyAt]
            : [],
        ),
      ),
    ].slice(0, MAX_RANKED_STEPS);
    const [workers, ready] = await Promise.all([
      this.listWorkers(WORKER_WINDOW_MS, namespaces),
      this.store.countReady(now, { before: readyAts, namespaces }),
    ]);
    const aheadBy = new Map(readyAts.map((at, i) => [at, ready.ahead[i] ?? 0]));
    const live = workers.filter((w) => w.status === 'live');
    const backlog = ready.total;
    return explainWaits(d, {
      now,
      liveWorkers: live,
      countCap: READY_COUNT_CAP,
      goneWorkers: new Set(workers.filter((w) => w.status !== 'live').map((w) => w.id)),
      backlog,
      aheadOf: (at) => aheadBy.get(at) ?? null,
    });
  }

  getTransitions(taskId: string): Promise<TransitionRecord[]> {
    return this.store.getTransitions(taskId);
  }

  failureGroups(q: FailureGroupsQuery): Promise<FailureGroupsReport> {
    return this.groups.report(checkRange(q));
  }

  /** The business impact of a window's failed tasks, aggregated in the store. */
  async businessImpact(q: FailureGroupsQuery): Promise<WindowReport & { impact: BusinessImpact }> {
    const w = windowOf(q, this.now());
    const { groups, customers } = await this.store.impactGroups(w.query);
    return { from: w.from, to: w.to, impact: impactFromGroups(groups, customers) };
  }

  /** Per-step durations, failure and retry rates of a window's tasks, aggregated in the store. */
  async bottlenecks(q: FailureGroupsQuery): Promise<WindowReport & { tasks: number; steps: StepStats[] }> {
    const w = windowOf(q, this.now());
    const { tasks, durations } = await this.store.stepDurations(w.query);
    return { from: w.from, to: w.to, tasks, steps: statsFromHistogram(durations) };
  }

  async failureGroup(
    fingerprint: string,
    q: FailureGroupsQuery,
    limit: number,
  ): Promise<{ group: FailureGroup; tasks: TaskRecord[]; truncated: boolean }> {
    const range = checkRange(q);
    const { group, taskIds: ids } = await this.groups.lookup(fingerprint, range, limit + 1);
    const byId = new Map((await this.store.getTasks(ids.slice(0, limit))).map((s) => [s.task.id, s.task]));
    const tasks = ids.slice(0, limit).flatMap((id) => byId.get(id) ?? []);
    return { group, tasks, truncated: ids.length > limit };
  }

  async getBulkJob(id: string): Promise<{ job: BulkJobView; items: BulkItemRecord[] }> {
    const job = typeof id === 'string' ? await this.store.getBulkJob(id) : null;
    if (!job) throw new TaskerError('BULK_JOB_NOT_FOUND', `no bulk job with id ${String(id)}`, { id });
    return { job, items: await this.store.bulkItems(id) };
  }

  async listAudit(q: Partial<AuditQuery>): Promise<AuditRecord[]> {
    const limit = q.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new TaskerError('INVALID_ARGUMENT', `limit: expected an integer from 1 to 1000, got ${limit}`, {
        field: 'limit',
      });
    return this.store.listAudit({ ...q, limit });
  }

  compareTask(
    taskId: string,
    against: 'last_success' | { taskId: string },
    visible: (t: TaskRecord) => boolean,
  ): Promise<Comparison> {
    return compareWithBaseline(this.store, taskId, against, this.now(), visible);
  }

  taskSnapshots(taskIds: readonly string[]): Promise<TaskSnapshot[]> {
    return this.store.getTasks(taskIds);
  }

  attemptsOf(taskIds: readonly string[]): Promise<AttemptRecord[]> {
    return this.store.getAttemptsFor(taskIds);
  }

  listBulkJobs(limit: number): Promise<BulkJobView[]> {
    return this.store.listBulkJobs(limit);
  }
}

/** A time window's length must be a positive number of milliseconds, at most 31 days. */
/** The window an analytics report covered: tasks created from `from` (ms) to `to`. */
export interface WindowReport {
  from: number;
  to: number;
}

function windowOf(q: FailureGroupsQuery, to: number): { from: number; to: number; query: AnalyticsQuery } {
  const { rangeMs, namespace, name, namespaces } = checkRange(q);
  for (const [field, v] of [
    ['namespace', namespace],
    ['name', name],
  ] as const)
    if (v !== undefined && typeof v !== 'string')
      throw new TaskerError('INVALID_ARGUMENT', `${field}: expected a string, got ${JSON.stringify(v)}`, {
        field,
      });
  if (namespaces != null && (!Array.isArray(namespaces) || namespaces.some((n) => typeof n !== 'string')))
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `namespaces: expected an array of strings or null, got ${JSON.stringify(namespaces)}`,
      { field: 'namespaces' },
    );
  const from = to - rangeMs;
  return { from, to, query: { from, namespace, name, namespaces } };
}

function checkRange<Q extends FailureGroupsQuery>(q: Q): Q {
  const r = (q as Partial<FailureGroupsQuery> | null)?.rangeMs;
  if (typeof r !== 'number' || !Number.isFinite(r) || r <= 0 || r > 31 * 86_400_000) {
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `rangeMs: expected a window in milliseconds (at most 31 days), got ${String(r)}`,
      { field: 'rangeMs' },
    );
  }
  return q;
}
