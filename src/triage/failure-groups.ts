/**
 * The failure-groups read model: the store's SQL aggregates (store/triage-sql.ts) named, advised and
 * ranked by core/failure-groups.ts. Also finds one group's tasks, for the group view and bulk actions.
 */
import {
  groupAction,
  ONGOING_MS,
  rankGroups,
  round2,
  stuckGroups,
  type FailureGroup,
} from '../core/failure-groups.js';
import { TaskerError } from '../errors.js';
import type { FailureGroupData, FailureGroupQuery, TaskStore } from '../store/port.js';
import type { TemplateRegistry } from '../templates/registry.js';

export interface FailureGroupsQuery {
  /** Window length in ms, ending now. */
  rangeMs: number;
  namespace?: string | undefined;
  name?: string | undefined;
  /** Only these namespaces (a limited token); null: all. */
  namespaces?: readonly string[] | null | undefined;
}

export interface FailureGroupsReport {
  from: number;
  to: number;
  bucketMs: number;
  groups: FailureGroup[];
  /** Groups left out past MAX_GROUPS (the least costly). */
  truncated: boolean;
}

/** Sparkline resolution. */
export const BUCKETS = 30;
/** More groups than this means the signatures do not normalise a message: the rest is noise. */
export const MAX_GROUPS = 200;
/** Past the largest step timeout, a running task without progress is stuck after this much more. */
export const STUCK_GRACE_MS = 60_000;

export class FailureGroups {
  constructor(
    private readonly store: TaskStore,
    private readonly templates: TemplateRegistry,
    private readonly now: () => number,
  ) {}

  storeQuery(q: FailureGroupsQuery): FailureGroupQuery {
    const to = this.now();
    const from = to - q.rangeMs;
    return {
      from,
      to: to + 1,
      now: to,
      bucketMs: Math.max(1, Math.ceil(q.rangeMs / BUCKETS)),
      stuckGraceMs: STUCK_GRACE_MS,
      namespace: q.namespace,
      name: q.name,
      namespaces: q.namespaces,
      maxGroups: MAX_GROUPS,
    };
  }

  async report(q: FailureGroupsQuery): Promise<FailureGroupsReport> {
    return (await this.collect(q)).report;
  }

  /** The report, with the stuck tasks it was built from (a stuck group's tasks are found among them). */
  private async collect(
    q: FailureGroupsQuery,
  ): Promise<{ report: FailureGroupsReport; stuck: FailureGroupData['stuck']; sq: FailureGroupQuery }> {
    const sq = this.storeQuery(q);
    const data = await this.store.failureGroups(sq);
    const window = { from: sq.from, bucketMs: sq.bucketMs, buckets: BUCKETS };
    const failures = data.groups.map((r): FailureGroup => {
      const series = new Array<number>(BUCKETS).fill(0);
      for (const s of r.series) if (s.bucket >= 0 && s.bucket < BUCKETS) series[s.bucket] = s.attempts;
      const key = {
        kind: 'failure' as const,
        namespace: r.namespace,
        name: r.name,
        version: r.version,
        step: r.step,
        errorType: r.errorType,
        signature: r.signature,
      };
      return {
        ...key,
        fingerprint: r.fingerprint,
        tasks: r.tasks,
        attempts: r.attempts,
        byStatus: {
          failed: r.failed,
          retrying: r.retrying,
          recovered: r.recovered,
          cancelled: r.cancelled,
          stuck: 0,
        },
        firstSeen: r.firstSeen,
        lastSeen: r.lastSeen,
        ongoing: r.lastSeen >= sq.now - ONGOING_MS,
        revenueAtRisk: round2(r.revenueAtRisk),
        affectedCustomers: r.namedCustomers + r.anonymousCustomers,
        message: r.message,
        workers: [...r.workers].sort(),
        versions: [r.version],
        exampleTaskIds: r.examples,
        suggestedAction: '',
        series,
      };
    });
    const all = rankGroups([...failures, ...stuckGroups(data.stuck, sq.now, window)]);
    for (const g of all) {
      const step = this.templates.find(g.namespace, g.name, g.version)?.steps.find((s) => s.name === g.step);
      g.suggestedAction = groupAction(g, step);
    }
    const report = {
      from: sq.from,
      to: sq.now,
      bucketMs: sq.bucketMs,
      groups: all.slice(0, MAX_GROUPS),
      truncated: data.truncated || all.length > MAX_GROUPS,
    };
    return { report, stuck: data.stuck, sq };
  }

  /**
   * One group of the window (or FAILURE_GROUP_NOT_FOUND) and up to `limit` of its tasks, the last to fail
   * first (stuck groups: the tasks stuck now). One aggregate read, plus one read of a failure group's ids.
   */
  async lookup(
    fingerprint: string,
    q: FailureGroupsQuery,
    limit: number,
  ): Promise<{ group: FailureGroup; taskIds: string[] }> {
    const { report, stuck, sq } = await this.collect(q);
    const group = report.groups.find((x) => x.fingerprint === fingerprint);
    if (!group) {
      throw new TaskerError(
        'FAILURE_GROUP_NOT_FOUND',
        `no failure group ${fingerprint} in the last ${Math.round(q.rangeMs / 60_000)} min`,
        { fingerprint },
      );
    }
    if (group.kind === 'failure')
      return { group, taskIds: await this.store.failureGroupTaskIds(sq, group.fingerprint, limit) };
    const window = { from: sq.from, bucketMs: sq.bucketMs, buckets: BUCKETS };
    const taskIds = stuck
      .filter((t) => stuckGroups([t], sq.now, window)[0]?.fingerprint === fingerprint)
      .slice(0, limit)
      .map((t) => t.taskId);
    return { group, taskIds };
  }
}
