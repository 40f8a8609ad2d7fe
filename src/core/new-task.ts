/**
 * Build the rows of a new task from its template. Each step row carries its own handler name, retry policy
 * and timeout, so a running task never depends on the template file staying the same (a redeploy with an
 * edited template changes new tasks only).
 */
import { attemptBudget } from './retry.js';
import type { TaskEventPayload, TaskerEvent } from '../events/catalog.js';
import type { TaskCreatedDraft, TaskRecord } from './records.js';
import type { TaskTemplate } from './template.js';
import { topoOrder } from './dag.js';
import { eventBase } from './trace-context.js';

export interface NewTaskInput {
  id: string;
  context: Record<string, unknown>;
  correlationId: string;
  idempotencyKey: string | null;
  tags: string[];
  /** A valid W3C traceparent the task joins, or null for a trace of its own. */
  traceparent?: string | null | undefined;
  now: number;
}

export function buildNewTask(template: TaskTemplate, input: NewTaskInput): TaskCreatedDraft {
  const order = topoOrder(template.steps);
  const byName = new Map(template.steps.map((s) => [s.name, s]));
  const task = {
    id: input.id,
    namespace: template.namespace,
    name: template.name,
    version: template.version,
    status: 'pending' as const,
    context: input.context,
    correlationId: input.correlationId,
    idempotencyKey: input.idempotencyKey,
    tags: input.tags,
    business: template.business ?? null,
    traceparent: input.traceparent ?? null,
    createdAt: input.now,
    updatedAt: input.now,
    startedAt: null,
    finishedAt: null,
  };
  const steps = order.map((name, position) => {
    const s = byName.get(name);
    if (!s) throw new Error(`internal: topological order names unknown step ${name}`);
    return {
      taskId: input.id,
      name: s.name,
      position,
      handler: s.handler,
      status: 'pending' as const,
      dependsOn: [...s.dependsOn],
      attempts: 0,
      attemptLimit: attemptBudget(s.retry),
      retry: s.retry,
      timeoutMs: s.timeoutSeconds === undefined ? null : Math.round(s.timeoutSeconds * 1000),
      handlerConfig: s.handlerConfig,
      readyAt: s.dependsOn.length === 0 ? input.now : null,
      leaseOwner: null,
      leaseExpiresAt: null,
      queuedAt: null,
      startedAt: null,
      finishedAt: null,
      results: null,
      errorMessage: null,
      errorType: null,
    };
  });
  return {
    task,
    steps,
    transition: {
      taskId: input.id,
      stepName: null,
      fromState: null,
      toState: 'pending',
      at: input.now,
      attempt: null,
      reason: 'created',
      errorType: null,
    },
  };
}

export function buildTaskCreatedEvent(task: TaskRecord): TaskerEvent<TaskEventPayload> {
  return {
    name: 'task.created',
    payload: { ...eventBase(task, 'task.created', task.createdAt), status: task.status },
  };
}
