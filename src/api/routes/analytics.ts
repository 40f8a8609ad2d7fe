/**
 * Analytics over the tasks of a time window (created in it): business impact of failures and per-step
 * bottlenecks. Reads at most MAX_TASKS tasks (newest first) and says so when the window holds more.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { recommendations, summarizeBusinessImpact } from '../../core/business-impact.js';
import type { TaskRecord } from '../../core/records.js';
import type { TaskState } from '../../core/states.js';
import { stepStats } from '../../core/step-stats.js';
import type { StepTemplate } from '../../core/template.js';
import type { Tasker } from '../../tasker.js';
import type { ApiContext } from '../plugin.js';
import { parseRange } from '../params.js';

const MAX_TASKS = 10_000;
const TEXT = { type: 'string', maxLength: 1000 } as const;
export const QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    time_range: {
      type: 'string',
      maxLength: 20,
      default: '1h',
      description: 'e.g. 15m, 1h, 7d (at most 31d)',
    },
    namespace: TEXT,
    name: TEXT,
  },
} as const;

export interface Query {
  time_range: string;
  namespace?: string;
  name?: string;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const secs = (ms: number) => Math.round(ms) / 1000;

async function tasksInWindow(
  tasker: Tasker,
  req: FastifyRequest,
  q: Query,
  from: number,
  status?: TaskState[],
): Promise<{ tasks: TaskRecord[]; truncated: boolean }> {
  const allowed = req.principal.namespaces;
  if (allowed !== null && q.namespace !== undefined && !allowed.has(q.namespace))
    return { tasks: [], truncated: false };
  const tasks: TaskRecord[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await tasker.listTasks({
      status,
      namespace: q.namespace,
      name: q.name,
      createdAfter: from,
      cursor,
      limit: 1000,
    });
    for (const t of page.tasks) if (allowed === null || allowed.has(t.namespace)) tasks.push(t);
    if (page.nextCursor === null) return { tasks, truncated: false };
    if (tasks.length >= MAX_TASKS) return { tasks: tasks.slice(0, MAX_TASKS), truncated: true };
    cursor = page.nextCursor;
  }
}

export function analyticsRoutes({ tasker }: ApiContext): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: Query }>(
      '/analytics/business-impact',
      {
        config: { scope: 'analytics:read' },
        schema: { summary: 'Failed workflows of a time window and what they cost', querystring: QUERY },
      },
      async (req) => {
        const q = req.query;
        const to = Date.now();
        const from = to - parseRange('time_range', q.time_range, '1h');
        const { tasks, truncated } = await tasksInWindow(tasker, req, q, from, ['error']);
        const details = [];
        for (let i = 0; i < tasks.length; i += 500)
          details.push(...(await tasker.describeTasks(tasks.slice(i, i + 500).map((t) => t.id))));
        const samples = details.map((d) => {
          const failed = d.steps.find((s) => s.status === 'error');
          return {
            task: d.task,
            failedStep: failed
              ? { name: failed.name, errorType: failed.errorType, errorMessage: failed.errorMessage }
              : null,
          };
        });
        const impact = summarizeBusinessImpact(samples);
        const stepTemplates = new Map<string, StepTemplate>();
        for (const d of details) {
          const t = tasker.catalog.find(d.task.namespace, d.task.name, d.task.version);
          for (const s of t?.steps ?? []) if (!stepTemplates.has(s.name)) stepTemplates.set(s.name, s);
        }
        return {
          time_range: `${new Date(from).toISOString()} to ${new Date(to).toISOString()}`,
          namespace: q.namespace ?? null,
          ...(q.name !== undefined ? { name: q.name } : {}),
          impact_analysis: {
            total_failed_workflows: impact.totalFailedWorkflows,
            estimated_revenue_loss: impact.estimatedRevenueLoss,
            affected_customers: impact.affectedCustomers,
            geographic_impact: impact.geographicImpact,
            customer_tier_impact: impact.customerTierImpact,
            failure_categories: impact.failureCategories,
          },
          recommendations: recommendations(impact, stepTemplates),
          sample: {
            tasks_examined: tasks.length,
            truncated,
            tasks_without_business_fields: impact.tasksWithoutBusinessFields,
          },
        };
      },
    );

    app.get<{ Querystring: Query }>(
      '/analytics/bottlenecks',
      {
        config: { scope: 'analytics:read' },
        schema: {
          summary: 'Per-step durations, failure and retry rates, ranked by share of time',
          querystring: QUERY,
        },
      },
      async (req) => {
        const q = req.query;
        const to = Date.now();
        const from = to - parseRange('time_range', q.time_range, '1h');
        const { tasks, truncated } = await tasksInWindow(tasker, req, q, from);
        const attempts = [];
        for (let i = 0; i < tasks.length; i += 500)
          attempts.push(...(await tasker.attemptsOf(tasks.slice(i, i + 500).map((t) => t.id))));
        const stats = stepStats(tasks, attempts);
        return {
          time_range: `${new Date(from).toISOString()} to ${new Date(to).toISOString()}`,
          namespace: q.namespace ?? null,
          ...(q.name !== undefined ? { name: q.name } : {}),
          steps: stats.map((s, i) => ({
            rank: i + 1,
            namespace: s.namespace,
            name: s.name,
            step: s.step,
            executions: s.executions,
            attempts: s.attempts,
            p50_seconds: secs(s.p50Ms),
            p95_seconds: secs(s.p95Ms),
            p99_seconds: secs(s.p99Ms),
            total_seconds: secs(s.totalMs),
            share_of_time: round2(s.shareOfTime),
            failure_rate: round2(s.failureRate),
            retry_rate: round2(s.retryRate),
            timeouts: s.timeouts,
          })),
          sample: { tasks_examined: tasks.length, truncated },
        };
      },
    );
  };
}
