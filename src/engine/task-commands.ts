/**
 * Everything that changes tasks: creating them, the operator actions (cancel, retry, resolve a step or a
 * task), bulk actions and their jobs, and the audit entry of every refusal. Each commit is followed by the
 * same three steps (`afterCommit`): events to subscribers, ids to live views, a nudge to this process's
 * worker.
 */
import type { Logger } from 'pino';
import { toJsonValue } from '../core/json.js';
import type { TaskSnapshot } from '../core/records.js';
import type { TaskWorkspace } from '../core/task-workspace.js';
import { TaskerError } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import type { ChangeFeed } from '../events/change-feed.js';
import type { TaskerEvent } from '../events/catalog.js';
import { isUuid } from '../store/cursor.js';
import type { BulkJobView, TaskStore } from '../store/port.js';
import { auditEntry, LIBRARY_ACTOR, markAudited, refusal, type Actor } from '../triage/audit.js';
import type { BulkActions, BulkPreview, BulkRequest } from '../triage/bulk-actions.js';
import type { BulkRunner } from '../triage/bulk-runner.js';
import type { CreateTaskInput, CreateTaskResult, TaskDrafts } from './task-drafts.js';
import type { TaskReads } from './task-reads.js';
import type { WorkerSlot } from './worker-slot.js';

/** Who refused what, for the audit log (the HTTP API's own refusals too: scope, input). */
export interface RefusalFields {
  actor?: string | undefined;
  reason?: string | null | undefined;
  taskIds?: string[];
  namespaces?: string[];
  filter?: Record<string, unknown> | null;
}

interface AuditOf {
  action: string;
  reason: string | null;
  by: Actor;
  detail?: Record<string, unknown>;
}

/** After an action commits (here or in a bulk job): tell subscribers, live views and this process's worker. */
export type AfterCommit = (snapshot: TaskSnapshot, events: TaskerEvent[]) => void;

export function afterCommit(bus: EventBus, changes: ChangeFeed, worker: WorkerSlot): AfterCommit {
  return (snapshot, events) => {
    bus.publish(events);
    changes.touch([snapshot.task.id]);
    worker.notify();
  };
}

export class TaskCommands {
  constructor(
    private readonly store: TaskStore,
    private readonly drafts: TaskDrafts,
    private readonly reads: TaskReads,
    private readonly bulk: BulkActions,
    private readonly runner: BulkRunner,
    private readonly events: EventBus,
    private readonly changes: ChangeFeed,
    private readonly worker: WorkerSlot,
    private readonly committed: AfterCommit,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  async createTasks(inputs: readonly CreateTaskInput[]): Promise<CreateTaskResult[]> {
    const drafts = this.drafts.draftAll(inputs);
    const results = await this.store.createTasks(drafts);
    for (const r of results) this.events.publish(r.events);
    this.changes.touch(results.filter((r) => r.created).map((r) => r.task.id));
    if (results.some((r) => r.created)) this.worker.notify();
    return results.map(({ task, created }) => ({ task, created }));
  }

  async cancelTask(taskId: string, reason: string | null, by: Actor): Promise<TaskSnapshot> {
    let running: number[] = [];
    const snapshot = await this.mutate(
      taskId,
      (ws) => {
        running = ws.steps.filter((s) => s.status === 'in_progress').map((s) => s.id);
        ws.cancel(this.now(), reason);
      },
      { action: 'task.cancel', reason, by },
    );
    this.worker.abortSteps(running, 'task cancelled');
    return snapshot;
  }

  retryTask(taskId: string, reason: string | null, by: Actor): Promise<TaskSnapshot> {
    return this.mutate(taskId, (ws) => ws.retry(this.now(), reason), { action: 'task.retry', reason, by });
  }

  async resolveStep(
    taskId: string,
    stepName: string,
    results: unknown,
    by: Actor & { reason?: string | null },
  ): Promise<TaskSnapshot> {
    const stored = toJsonValue(results, `results for step ${stepName}`);
    return await this.mutate(taskId, (ws) => ws.resolveStep(stepName, stored, this.now()), {
      action: 'step.resolve',
      reason: by.reason ?? null,
      by,
      detail: { step: stepName },
    });
  }

  resolveTask(taskId: string, reason: string | null, by: Actor): Promise<TaskSnapshot> {
    return this.mutate(taskId, (ws) => ws.resolveTask(this.now(), reason), {
      action: 'task.resolve',
      reason,
      by,
    });
  }

  previewBulkAction(req: BulkRequest): Promise<BulkPreview> {
    return this.bulk.preview(req);
  }

  async startBulkAction(req: BulkRequest): Promise<BulkJobView> {
    this.runner.start();
    try {
      return await this.bulk.start(req);
    } catch (err) {
      const action = (req as Partial<BulkRequest> | null)?.spec?.action;
      const known = ['retry', 'cancel', 'resolve_step'].includes(action as string);
      await this.recordRefusal(`bulk.${known ? (action as string) : 'unknown'}`, err, {
        actor: req?.actor,
        reason: typeof req?.reason === 'string' ? req.reason : null,
        filter: (req?.filterAsGiven ?? req?.filter ?? null) as Record<string, unknown> | null,
      });
      throw err;
    }
  }

  async stopBulkJob(id: string, reason: string, by: Actor): Promise<BulkJobView> {
    const { job } = await this.reads.getBulkJob(id);
    const actor = by.actor ?? LIBRARY_ACTOR;
    const now = this.now();
    const stopped = await this.store.finishBulkJob(
      id,
      'stopped',
      now,
      auditEntry(now, { actor, action: 'bulk.stop', reason, jobId: id, namespaces: job.namespaces ?? [] }),
    );
    if (!stopped) {
      throw new TaskerError(
        'ILLEGAL_TRANSITION',
        `bulk job ${id} is ${job.status}; only a running job can be stopped`,
        { id, status: job.status },
      );
    }
    return (await this.reads.getBulkJob(id)).job;
  }

  async recordRefusal(action: string, err: unknown, fields: RefusalFields): Promise<void> {
    markAudited(err);
    // An id that names no task cannot be linked to one (PostgreSQL keys the link by uuid); the entry keeps
    // what the caller sent, so "someone tried to retry `-1`" is still on record.
    const ids = fields.taskIds ?? [];
    const malformed = ids.filter((id) => !isUuid(id)).map((id) => id.slice(0, 200));
    try {
      await this.store.appendAudit([
        auditEntry(this.now(), {
          ...fields,
          taskIds: ids.filter(isUuid).map((id) => id.toLowerCase()),
          actor: fields.actor ?? LIBRARY_ACTOR,
          action,
          outcome: 'refused',
          detail: { ...refusal(err), ...(malformed.length ? { given_task_ids: malformed } : {}) },
        }),
      ]);
    } catch (auditErr) {
      // The caller gets the refusal either way; a store too broken to audit it is logged.
      this.logger.error({ err: auditErr, action }, 'could not write the audit entry of a refused action');
    }
  }

  private async mutate(
    taskId: string,
    action: (ws: TaskWorkspace) => void,
    audit: AuditOf,
  ): Promise<TaskSnapshot> {
    const actor = audit.by.actor ?? LIBRARY_ACTOR;
    let out: Awaited<ReturnType<TaskStore['mutateTask']>>;
    try {
      out = await this.store.mutateTask(taskId, action, (task) =>
        auditEntry(this.now(), {
          actor,
          action: audit.action,
          reason: audit.reason,
          taskIds: [task.id],
          namespaces: [task.namespace],
          detail: audit.detail ?? null,
        }),
      );
    } catch (err) {
      if (err instanceof TaskerError && !err.code.startsWith('DATABASE_')) {
        // Named by the task's namespace (when it exists), so its namespace's operators see the refusal.
        const ns = err.code === 'TASK_NOT_FOUND' ? null : (await this.store.getTask(taskId))?.task.namespace;
        await this.recordRefusal(audit.action, err, {
          actor,
          reason: audit.reason,
          taskIds: [taskId],
          namespaces: ns ? [ns] : [],
        });
      }
      throw err;
    }
    this.committed(out.snapshot, out.events);
    return out.snapshot;
  }
}
