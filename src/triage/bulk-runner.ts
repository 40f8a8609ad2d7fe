/**
 * Runs bulk jobs in the background, in any process with the store open (API servers and workers alike).
 * A job is held under a lease (renewed as it goes, like a step's), so one process at a time works on it
 * and another takes it over when the first dies. Each task is acted on in the transaction that marks its
 * item done (TaskStore.applyBulkItem): a job resumed after a crash skips what was done, and never does a
 * task twice.
 */
import type { Logger } from 'pino';
import { applyBulkAction, type BulkActionSpec } from '../core/bulk-plan.js';
import type { TaskSnapshot } from '../core/records.js';
import type { TaskWorkspace } from '../core/task-workspace.js';
import { TaskerError } from '../errors.js';
import type { TaskerEvent } from '../events/catalog.js';
import type { BulkJobRecord, TaskStore } from '../store/port.js';
import { auditEntry } from './audit.js';

export interface BulkRunnerOptions {
  owner: string;
  leaseMs: number;
  /** How often to look for jobs nobody runs (left by a process that died). */
  pollMs: number;
  now: () => number;
  /** After each committed action: publish its events, wake workers, abort the cancelled steps here. */
  committed: (snapshot: TaskSnapshot, events: TaskerEvent[], abortStepIds: number[]) => void;
}

const BATCH = 50;

export class BulkRunner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly store: TaskStore,
    private readonly opts: BulkRunnerOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.kick(), this.opts.pollMs);
    this.timer.unref();
    this.kick();
  }

  /** Look for work now (a job was just created). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => this.logger.error({ err }, 'bulk job runner failed; will try again'))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const now = this.opts.now();
      const job = await this.store.leaseBulkJob(null, this.opts.owner, now, now + this.opts.leaseMs);
      if (!job) return;
      await this.runJob(job);
    }
  }

  private async runJob(job: BulkJobRecord): Promise<void> {
    const log = this.logger.child({ bulk_job: job.id, action: job.action });
    const spec: BulkActionSpec =
      job.action === 'resolve_step'
        ? { action: 'resolve_step', step: job.step ?? '', results: job.results }
        : { action: job.action };
    const gapMs = 1000 / job.ratePerSecond;
    let renewAt = this.opts.now() + this.opts.leaseMs / 3;
    let nextAt = this.opts.now();
    let done = 0;
    log.info('bulk job running');
    for (;;) {
      const items = await this.store.pendingBulkItems(job.id, BATCH);
      if (items.length === 0) break;
      for (const item of items) {
        if (this.stopped) return;
        const wait = nextAt - this.opts.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        nextAt = Math.max(nextAt + gapMs, this.opts.now());
        const now = this.opts.now();
        if (now >= renewAt) {
          if (!(await this.store.leaseBulkJob(job.id, this.opts.owner, now, now + this.opts.leaseMs))) {
            log.warn('bulk job lease lost (stopped, or taken over); leaving it');
            return;
          }
          renewAt = now + this.opts.leaseMs / 3;
        }
        const abort: number[] = [];
        const action = (ws: TaskWorkspace) => {
          // The actor's namespace limits hold for the whole job, whatever happened since it was planned.
          if (job.namespaces !== null && !job.namespaces.includes(ws.task.namespace))
            throw new TaskerError('TASK_NOT_FOUND', 'not in the namespaces the job may act in');
          if (spec.action === 'cancel')
            abort.push(...ws.steps.filter((s) => s.status === 'in_progress').map((s) => s.id));
          applyBulkAction(ws, spec, now, job.reason);
        };
        const r = await this.store.applyBulkItem(
          job.id,
          this.opts.owner,
          item.position,
          item.taskId,
          action,
          now,
        );
        if (r.applied) {
          done += 1;
          this.opts.committed(r.snapshot, r.events, abort);
        } else if (r.why === 'lease_lost') {
          log.warn('bulk job lease lost (stopped, or taken over); leaving it');
          return;
        }
      }
    }
    const final = await this.store.getBulkJob(job.id);
    const finished = await this.store.finishBulkJob(
      job.id,
      'completed',
      this.opts.now(),
      auditEntry(this.opts.now(), {
        actor: job.actor,
        action: 'bulk.finished',
        reason: job.reason,
        jobId: job.id,
        namespaces: job.namespaces ?? [],
        detail: final ? { action: job.action, ...final.counts } : { action: job.action },
      }),
    );
    if (finished) log.info({ acted_on: done, ...final?.counts }, 'bulk job completed');
  }
}
