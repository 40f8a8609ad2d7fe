/**
 * Analytics over the tasks of a time window (created in it): business impact of failures and per-step
 * bottlenecks. The store aggregates the whole window in SQL (store/analytics-sql.ts), so nothing is
 * sampled: `truncated` stays in the reply for clients that read it, always false.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { recommendations } from '../../core/business-impact.js';
import type { StepTemplate } from '../../core/template.js';
import type { WindowReport } from '../../engine/task-reads.js';
import type { FailureGroupsQuery } from '../../triage/failure-groups.js';
import type { ApiContext } from '../plugin.js';
import { parseRange } from '../params.js';

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

/** The report's window, and the namespaces the caller may read (a limited token reads its own only). */
function windowOf(req: FastifyRequest, q: Query): FailureGroupsQuery {
  const allowed = req.principal.namespaces;
  return {
    rangeMs: parseRange('time_range', q.time_range, '1h'),
    namespace: q.namespace,
    name: q.name,
    namespaces: allowed === null ? null : [...allowed],
  };
}

const span = (r: WindowReport) => `${new Date(r.from).toISOString()} to ${new Date(r.to).toISOString()}`;

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
        const report = await tasker.businessImpact(windowOf(req, q));
        const impact = report.impact;
        // Recommendations name each failing step's retry budget and timeout: its template in the catalog.
        const stepTemplates = new Map<string, StepTemplate>();
        for (const t of tasker.catalog.list()) {
          if (
            (q.namespace !== undefined && t.namespace !== q.namespace) ||
            (q.name !== undefined && t.name !== q.name)
          )
            continue;
          for (const s of t.steps) if (!stepTemplates.has(s.name)) stepTemplates.set(s.name, s);
        }
        return {
          time_range: span(report),
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
            tasks_examined: impact.totalFailedWorkflows,
            truncated: false,
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
        const report = await tasker.bottlenecks(windowOf(req, q));
        const stats = report.steps;
        return {
          time_range: span(report),
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
          sample: { tasks_examined: report.tasks, truncated: false },
        };
      },
    );
  };
}
