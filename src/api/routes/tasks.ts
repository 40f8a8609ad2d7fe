/** /tasks: create, list with filters, detail with dependency and business analysis, audit trail, actions. */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { analyzeDependencies } from '../../core/analysis.js';
import type { TaskRecord } from '../../core/records.js';
import { taskSla } from '../../core/task-sla.js';
import { parseTraceparent } from '../../core/trace-context.js';
import { TaskerError } from '../../errors.js';
import { encodeCursor } from '../../store/cursor.js';
import type { CreateTaskInput, TaskDetails } from '../../tasker.js';
import { seesNamespace, visibleNamespaces } from '../auth.js';
import type { ApiContext } from '../plugin.js';
import { listFilter, type ListFilterFields } from '../params.js';
import { presentDependencies, presentTaskDetail, presentTaskSummary, presentTransition } from '../present.js';

const ID = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: 100 } },
  required: ['id'],
} as const;
const BOOL = { type: 'boolean', default: false } as const;
const TEXT = { type: 'string', maxLength: 1000 } as const;

const LIST_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: {
      type: 'array',
      items: TEXT,
      maxItems: 20,
      description: 'repeatable; pending, in_progress, completed, failed, cancelled, resolved_manually',
    },
    namespace: TEXT,
    name: TEXT,
    version: TEXT,
    correlation_id: TEXT,
    tag: TEXT,
    created_after: { ...TEXT, description: 'ISO 8601 or epoch ms' },
    created_before: { ...TEXT, description: 'ISO 8601 or epoch ms' },
    include_dependencies: BOOL,
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
    cursor: { type: 'string', maxLength: 200 },
  },
} as const;

const DETAIL_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    include_dependencies: {
      ...BOOL,
      description:
        'bottleneck, blocked steps, critical path, suggested action, and why each unfinished step waits',
    },
    include_business_metrics: BOOL,
    include_attempts: {
      ...BOOL,
      description:
        'every finished attempt (the timeline), and each step’s results and handler config (redacted)',
    },
  },
} as const;

const CREATE_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['namespace', 'name'],
  properties: {
    namespace: { type: 'string', minLength: 1, maxLength: 200 },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    version: { type: 'string', minLength: 1, maxLength: 100 },
    context: { type: 'object' },
    correlation_id: { type: 'string', minLength: 1, maxLength: 100 },
    idempotency_key: { type: 'string', minLength: 1, maxLength: 200 },
    tags: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 100 }, maxItems: 50 },
  },
} as const;

const REASON_BODY = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { reason: { type: 'string', maxLength: 2000 } },
} as const;

interface ListQuery extends ListFilterFields {
  include_dependencies: boolean;
  limit: number;
  cursor?: string;
}

export function taskRoutes({ tasker }: ApiContext): FastifyPluginAsync {
  const redactor = tasker.redactor;

  /** A task the caller may not see is reported exactly like one that does not exist. */
  const visible = async (req: FastifyRequest, id: string): Promise<TaskDetails> => {
    const d = await tasker.getTask(taskId(id));
    if (!seesNamespace(req.principal, d.task.namespace))
      throw new TaskerError('TASK_NOT_FOUND', `no task with id ${id}`, { taskId: id });
    return d;
  };
  /** The task against its template's SLA, as of now; null when this process does not know the template. */
  const slaOf = (t: TaskRecord) =>
    taskSla(t, tasker.catalog.find(t.namespace, t.name, t.version)?.slaSeconds, Date.now());
  const analysis = (d: TaskDetails) => {
    const t = d.task;
    return analyzeDependencies(d, tasker.catalog.find(t.namespace, t.name, t.version), Date.now());
  };

  /** A token limited to some namespaces must not learn other namespaces' template names from a hint. */
  const createTask = async (req: FastifyRequest, input: CreateTaskInput) => {
    try {
      return await tasker.createTask(input);
    } catch (err) {
      if (
        req.principal.namespaces !== null &&
        err instanceof TaskerError &&
        err.code === 'TEMPLATE_NOT_FOUND'
      ) {
        throw new TaskerError(
          'TEMPLATE_NOT_FOUND',
          `no template ${input.namespace}/${input.name}${input.version ? `@${input.version}` : ''}`,
          {
            namespace: input.namespace,
            name: input.name,
          },
        );
      }
      throw err;
    }
  };

  return async (app) => {
    app.post<{
      Body: {
        namespace: string;
        name: string;
        version?: string;
        context?: Record<string, unknown>;
        correlation_id?: string;
        idempotency_key?: string;
        tags?: string[];
      };
    }>(
      '/tasks',
      {
        config: { scope: 'tasks:write' },
        schema: {
          summary: 'Create a task from a registered template',
          body: CREATE_BODY,
          statuses: {
            200: 'A task with this idempotency key exists already: it is returned, nothing is created',
            201: 'The task was created',
          },
        },
      },
      async (req, reply) => {
        const b = req.body;
        if (!seesNamespace(req.principal, b.namespace)) {
          throw new TaskerError('TEMPLATE_NOT_FOUND', `no template ${b.namespace}/${b.name}`, {
            namespace: b.namespace,
            name: b.name,
          });
        }
        const { task, created } = await createTask(req, {
          namespace: b.namespace,
          name: b.name,
          version: b.version,
          context: b.context ?? {},
          correlationId: b.correlation_id ?? req.correlationId,
          idempotencyKey: b.idempotency_key,
          tags: b.tags,
          traceparent: traceparentOf(req),
        });
        return reply
          .code(created ? 201 : 200)
          .send({ ...presentTaskSummary(task), created, context: redactor.redact(task.context) });
      },
    );

    app.get<{ Querystring: ListQuery }>(
      '/tasks',
      {
        config: { scope: 'tasks:read' },
        schema: {
          summary: 'List tasks, newest first, with filters and cursor pagination',
          querystring: LIST_QUERY,
        },
      },
      async (req) => {
        const q = req.query;
        const allowed = req.principal.namespaces;
        if (allowed !== null && q.namespace !== undefined && !allowed.has(q.namespace))
          return { tasks: [], next_cursor: null, limit: q.limit };
        const filter = { ...listFilter(q), cursor: q.cursor, limit: q.limit };
        // A token limited to some namespaces sees only theirs: filter each page and keep reading until the
        // page is full or the store runs out (the cursor then points after the last task shown).
        const tasks: TaskRecord[] = [];
        let cursor = filter.cursor;
        let next: string | null = null;
        // Bounded: a short page with a cursor is still a correct page.
        for (let pages = 0; pages < 20; pages++) {
          const page = await tasker.listTasks({ ...filter, cursor });
          for (const t of page.tasks) {
            if (allowed !== null && !allowed.has(t.namespace)) continue;
            tasks.push(t);
          }
          next = page.nextCursor;
          if (allowed === null || tasks.length >= q.limit || next === null) break;
          cursor = next;
        }
        const shown = tasks.slice(0, q.limit);
        const out = shown.map(presentTaskSummary);
        if (q.include_dependencies && shown.length > 0) {
          const details = await tasker.describeTasks(shown.map((t) => t.id));
          const byId = new Map(details.map((d) => [d.task.id, d]));
          for (const [i, t] of shown.entries()) {
            const d = byId.get(t.id);
            const row = out[i];
            if (d && row) {
              row.dependencies = presentDependencies(analysis(d));
            }
          }
        }
        const last = shown[shown.length - 1];
        return {
          tasks: out,
          next_cursor: tasks.length > q.limit && last ? encodeCursor(last.id) : next,
          limit: q.limit,
        };
      },
    );

    app.get<{
      Params: { id: string };
      Querystring: {
        include_dependencies: boolean;
        include_business_metrics: boolean;
        include_attempts: boolean;
      };
    }>(
      '/tasks/:id',
      {
        config: { scope: 'tasks:read' },
        schema: {
          summary: 'One task with its steps, performance and (optionally) analysis',
          params: ID,
          querystring: DETAIL_QUERY,
        },
      },
      async (req) => {
        const d = await visible(req, req.params.id);
        const deps = req.query.include_dependencies;
        return presentTaskDetail(d, d.attempts, redactor, {
          sla: slaOf(d.task),
          dependencies: deps ? analysis(d) : undefined,
          waits: deps ? await tasker.explainWaits(d, visibleNamespaces(req.principal)) : undefined,
          business: req.query.include_business_metrics,
          attempts: req.query.include_attempts,
        });
      },
    );

    app.get<{ Params: { id: string } }>(
      '/tasks/:id/transitions',
      { config: { scope: 'tasks:read' }, schema: { summary: 'The audit trail of a task', params: ID } },
      async (req) => {
        const id = taskId(req.params.id);
        await visible(req, id);
        return { task_id: id, transitions: (await tasker.getTransitions(id)).map(presentTransition) };
      },
    );

    const action = (
      path: string,
      audit: string,
      summary: string,
      run: (
        id: string,
        body: Record<string, unknown> | null,
        params: Record<string, string>,
        by: { actor: string },
      ) => Promise<unknown>,
      body: object = REASON_BODY,
    ) =>
      app.post<{ Params: Record<string, string>; Body: Record<string, unknown> | null }>(
        path,
        {
          config: { scope: 'tasks:write', audit },
          schema: {
            summary,
            params: {
              type: 'object',
              properties: { id: ID.properties.id, step: { type: 'string', maxLength: 200 } },
            },
            body,
          },
        },
        async (req) => {
          const id = taskId(req.params.id ?? '');
          await visible(req, id);
          await run(id, req.body ?? null, req.params, { actor: req.principal.name });
          const d = await tasker.getTask(id);
          return presentTaskDetail(d, [], redactor, { sla: slaOf(d.task) });
        },
      );
    const reason = (b: Record<string, unknown> | null) => (typeof b?.reason === 'string' ? b.reason : null);
    action(
      '/tasks/:id/cancel',
      'task.cancel',
      'Cancel a task (running attempts are aborted)',
      (id, b, _p, by) => tasker.cancelTask(id, reason(b), by),
    );
    action('/tasks/:id/retry', 'task.retry', 'Retry the failed steps of a failed task', (id, b, _p, by) =>
      tasker.retryTask(id, reason(b), by),
    );
    action(
      '/tasks/:id/steps/:step/resolve',
      'step.resolve',
      'Mark a step resolved by hand, with the results it should have produced',
      (id, b, p, by) =>
        tasker.resolveStep(id, p.step ?? '', b?.results ?? null, { ...by, reason: reason(b) }),
      {
        type: ['object', 'null'],
        additionalProperties: false,
        properties: { results: {}, reason: { type: 'string', maxLength: 2000 } },
      },
    );
  };
}

/** Ids are lower-case UUIDs; an upper-case copy finds the same task on every store. */
/**
 * A valid W3C `traceparent` header makes the new task part of the caller's trace; an invalid one is
 * ignored (as the W3C spec says) and logged.
 */
function traceparentOf(req: FastifyRequest): string | undefined {
  const h = req.headers.traceparent;
  if (h === undefined) return undefined;
  const value = Array.isArray(h) ? h[0] : h;
  if (value !== undefined && parseTraceparent(value)) return value;
  req.log.warn({ given: String(value).slice(0, 120) }, 'invalid traceparent header ignored');
  return undefined;
}

const taskId = (id: string): string => (/^[0-9a-f-]{36}$/i.test(id) ? id.toLowerCase() : id);
