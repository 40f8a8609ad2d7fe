/**
 * Incident triage: failure groups, bulk actions (dry run first), bulk jobs, the audit log, and a run
 * compared with its last good run. Every write names its actor (the token's name) for the audit log.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { BulkActionSpec } from '../../core/bulk-plan.js';
import type { TaskRecord } from '../../core/records.js';
import { taskSla } from '../../core/task-sla.js';
import { TaskerError } from '../../errors.js';
import type { AuditOutcome } from '../../store/port.js';
import type { Tasker } from '../../tasker.js';
import type { BulkFilter } from '../../triage/bulk-actions.js';
import { isUuid } from '../../store/cursor.js';
import { hostResolver } from '../../triage/compare.js';
import { seesNamespace, visibleNamespaces } from '../auth.js';
import type { ApiContext } from '../plugin.js';
import { listFilter, parseRange, type ListFilterFields } from '../params.js';
import {
  presentAudit,
  presentComparison,
  presentGroup,
  presentItem,
  presentJob,
  presentPreview,
} from '../present-triage.js';
import { presentTaskSummary } from '../present.js';
import { QUERY as WINDOW_QUERY, type Query as WindowQuery } from './analytics.js';

const TEXT = { type: 'string', maxLength: 1000 } as const;
const FINGERPRINT = { type: 'string', pattern: '^[0-9a-f]{16}$' } as const;
const ID = { type: 'string', minLength: 1, maxLength: 100 } as const;

const FILTER = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'array', items: TEXT, maxItems: 20 },
    namespace: TEXT,
    name: TEXT,
    version: TEXT,
    correlation_id: TEXT,
    tag: TEXT,
    created_after: TEXT,
    created_before: TEXT,
    failure_group: FINGERPRINT,
    time_range: { type: 'string', maxLength: 20 },
    task_ids: { type: 'array', items: ID, maxItems: 10_000 },
  },
} as const;

const BULK_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['action', 'filter', 'reason'],
  properties: {
    action: { type: 'string', enum: ['retry', 'cancel', 'resolve_step'] },
    filter: FILTER,
    reason: { type: 'string', minLength: 1, maxLength: 2000 },
    dry_run: { type: 'boolean', default: false },
    step: { type: 'string', minLength: 1, maxLength: 200 },
    results: {},
    max_tasks: { type: 'integer', minimum: 1, maximum: 10_000 },
    rate_per_second: { type: 'number', minimum: 0.1, maximum: 1000 },
  },
} as const;

interface FilterBody extends ListFilterFields {
  failure_group?: string;
  time_range?: string;
  task_ids?: string[];
}

interface BulkBody {
  action: 'retry' | 'cancel' | 'resolve_step';
  filter: FilterBody;
  reason: string;
  dry_run: boolean;
  step?: string;
  results?: unknown;
  max_tasks?: number;
  rate_per_second?: number;
}

const AUDIT_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    task_id: ID,
    actor: TEXT,
    action: TEXT,
    outcome: { type: 'string', enum: ['ok', 'refused', 'failed'] },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    cursor: { type: 'string', pattern: '^[0-9]{1,18}$' },
  },
} as const;

/** Hosts of the workers of the last day (see hostResolver). */
async function hostLookup(tasker: Tasker): Promise<(id: string) => string | null> {
  return hostResolver(await tasker.listWorkers(24 * 3_600_000));
}

function toFilter(f: FilterBody): BulkFilter {
  return {
    ...listFilter(f, 'filter.'),
    failureGroup: f.failure_group,
    rangeMs: f.time_range === undefined ? undefined : parseRange('filter.time_range', f.time_range, '1h'),
    taskIds: f.task_ids?.map((id) => (isUuid(id) ? id.toLowerCase() : id)),
  };
}

function spec(b: BulkBody): BulkActionSpec {
  if (b.action !== 'resolve_step') {
    if (b.step !== undefined || b.results !== undefined)
      throw new TaskerError(
        'INVALID_ARGUMENT',
        `body.step and body.results go with resolve_step only, not ${b.action}`,
        {
          field: b.step !== undefined ? 'step' : 'results',
        },
      );
    return { action: b.action };
  }
  if (b.step === undefined)
    throw new TaskerError('INVALID_ARGUMENT', 'body: step is required for resolve_step', { field: 'step' });
  return { action: 'resolve_step', step: b.step, results: b.results ?? null };
}

export function triageRoutes({ tasker }: ApiContext): FastifyPluginAsync {
  const templateOf = (g: { namespace: string; name: string; version: string }) =>
    tasker.catalog.find(g.namespace, g.name, g.version);
  const window = (req: FastifyRequest<{ Querystring: WindowQuery }>) => {
    const q = req.query;
    const allowed = visibleNamespaces(req.principal);
    return {
      rangeMs: parseRange('time_range', q.time_range, '1h'),
      namespace: q.namespace,
      name: q.name,
      namespaces: allowed,
    };
  };

  return async (app) => {
    app.get<{ Querystring: WindowQuery }>(
      '/analytics/failure-groups',
      {
        config: { scope: 'analytics:read' },
        schema: {
          summary: 'Failing tasks of a time window grouped by cause, ranked by revenue at risk',
          querystring: WINDOW_QUERY,
        },
      },
      async (req) => {
        const w = window(req);
        const r = await tasker.failureGroups(w);
        const hostOf = await hostLookup(tasker);
        return {
          time_range: `${new Date(r.from).toISOString()} to ${new Date(r.to).toISOString()}`,
          from: new Date(r.from).toISOString(),
          to: new Date(r.to).toISOString(),
          namespace: req.query.namespace ?? null,
          ...(req.query.name !== undefined ? { name: req.query.name } : {}),
          total_tasks: r.groups.reduce((n, g) => n + g.tasks, 0),
          revenue_at_risk: Math.round(r.groups.reduce((n, g) => n + g.revenueAtRisk, 0) * 100) / 100,
          affected_customers: r.groups.reduce((n, g) => n + g.affectedCustomers, 0),
          bucket_seconds: r.bucketMs / 1000,
          groups: r.groups.map((g) => presentGroup(g, hostOf, templateOf(g))),
          truncated: r.truncated,
        };
      },
    );

    app.get<{ Params: { fingerprint: string }; Querystring: WindowQuery }>(
      '/analytics/failure-groups/:fingerprint',
      {
        config: { scope: 'analytics:read' },
        schema: {
          summary: 'One failure group and its tasks (the last to fail first)',
          params: { type: 'object', properties: { fingerprint: FINGERPRINT }, required: ['fingerprint'] },
          querystring: WINDOW_QUERY,
        },
      },
      async (req) => {
        const r = await tasker.failureGroup(req.params.fingerprint, window(req), 500);
        const template = templateOf(r.group);
        const now = Date.now();
        // Where each task stands against the SLA of its template (null: the template has none).
        const tasks = r.tasks.map((t) => ({
          ...presentTaskSummary(t),
          over_sla: taskSla(t, template?.slaSeconds, now)?.overSla ?? null,
        }));
        return {
          group: {
            ...presentGroup(r.group, await hostLookup(tasker), template),
            tasks_over_sla:
              template?.slaSeconds === undefined ? null : tasks.filter((t) => t.over_sla).length,
          },
          tasks,
          truncated: r.truncated,
        };
      },
    );

    app.post<{ Body: BulkBody }>(
      '/bulk-actions',
      {
        config: { scope: 'tasks:write', audit: 'bulk' },
        schema: {
          summary: 'Retry, cancel or resolve a step of many tasks: a dry run first, then a background job',
          body: BULK_BODY,
          statuses: { 200: 'A dry run: what the action would do', 202: 'The job started' },
        },
      },
      async (req, reply) => {
        const b = req.body;
        const request = {
          spec: spec(b),
          filter: toFilter(b.filter),
          reason: b.reason,
          maxTasks: b.max_tasks,
          ratePerSecond: b.rate_per_second,
          actor: req.principal.name,
          namespaces: visibleNamespaces(req.principal),
          filterAsGiven: b.filter as Record<string, unknown>,
        };
        if (b.dry_run) return presentPreview(await tasker.previewBulkAction(request));
        const job = await tasker.startBulkAction(request);
        return reply.code(202).send({ job: presentJob(job) });
      },
    );

    app.get<{ Querystring: { limit: number } }>(
      '/bulk-actions',
      {
        config: { scope: 'tasks:read' },
        schema: {
          summary: 'Recent bulk jobs, newest first',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { limit: { type: 'integer', minimum: 1, maximum: 200, default: 20 } },
          },
        },
      },
      async (req) => {
        const jobs = await tasker.listBulkJobs(req.query.limit);
        return { jobs: jobs.filter((j) => jobVisible(req, j.namespaces)).map(presentJob) };
      },
    );

    const visibleJob = async (req: FastifyRequest, id: string) => {
      const found = await tasker.getBulkJob(id);
      if (!jobVisible(req, found.job.namespaces))
        throw new TaskerError('BULK_JOB_NOT_FOUND', `no bulk job with id ${id}`, { id });
      return found;
    };

    app.get<{ Params: { id: string } }>(
      '/bulk-actions/:id',
      {
        config: { scope: 'tasks:read' },
        schema: {
          summary: 'A bulk job: its progress and the outcome for each task',
          params: { type: 'object', properties: { id: ID }, required: ['id'] },
        },
      },
      async (req) => {
        const { job, items } = await visibleJob(req, req.params.id);
        return { job: presentJob(job), tasks: items.map(presentItem) };
      },
    );

    app.post<{ Params: { id: string }; Body: { reason: string } }>(
      '/bulk-actions/:id/stop',
      {
        config: { scope: 'tasks:write', audit: 'bulk.stop' },
        schema: {
          summary: 'Stop a running bulk job (tasks not yet acted on are skipped)',
          params: { type: 'object', properties: { id: ID }, required: ['id'] },
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['reason'],
            properties: { reason: { type: 'string', minLength: 1, maxLength: 2000 } },
          },
        },
      },
      async (req) => {
        await visibleJob(req, req.params.id);
        const job = await tasker.stopBulkJob(req.params.id, req.body.reason, { actor: req.principal.name });
        return { job: presentJob(job) };
      },
    );

    app.get<{
      Querystring: {
        task_id?: string;
        actor?: string;
        action?: string;
        outcome?: AuditOutcome;
        limit: number;
        cursor?: string;
      };
    }>(
      '/audit',
      {
        config: { scope: 'tasks:read' },
        schema: { summary: 'The audit log of operator actions, newest first', querystring: AUDIT_QUERY },
      },
      async (req) => {
        const q = req.query;
        const entries = await tasker.listAudit({
          taskId: q.task_id === undefined ? undefined : q.task_id.toLowerCase(),
          actor: q.actor,
          action: q.action,
          outcome: q.outcome,
          beforeId: q.cursor === undefined ? undefined : Number(q.cursor),
          namespaces: visibleNamespaces(req.principal),
          limit: q.limit,
        });
        const last = entries[entries.length - 1];
        return {
          entries: entries.map(presentAudit),
          next_cursor: entries.length === q.limit && last ? String(last.id) : null,
        };
      },
    );

    app.get<{ Params: { id: string }; Querystring: { with: string } }>(
      '/tasks/:id/compare',
      {
        config: { scope: 'tasks:read' },
        schema: {
          summary: 'A run compared step by step with its last good run (or a given task)',
          params: { type: 'object', properties: { id: ID }, required: ['id'] },
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              with: {
                type: 'string',
                maxLength: 100,
                default: 'last_success',
                description: 'last_success or a task id',
              },
            },
          },
        },
      },
      async (req) => {
        const w = req.query.with;
        const visible = (t: TaskRecord) => seesNamespace(req.principal, t.namespace);
        const c = await tasker.compareTask(
          req.params.id.toLowerCase(),
          w === 'last_success' ? 'last_success' : { taskId: w.toLowerCase() },
          visible,
        );
        return presentComparison(c);
      },
    );
  };
}

/** A namespace-limited token sees jobs that acted only inside its namespaces. */
function jobVisible(req: FastifyRequest, namespaces: string[] | null): boolean {
  const mine = req.principal.namespaces;
  if (mine === null) return true;
  return namespaces !== null && namespaces.every((n) => mine.has(n));
}
