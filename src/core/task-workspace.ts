/**
 * The planner: every state change of a task goes through a TaskWorkspace. It holds a snapshot of one task
 * (task row + all its step rows) loaded inside the store's transaction, applies operations in memory
 * with the state machines' checks, and records what changed: rows to write, transitions to append,
 * attempts to record and events to publish after the commit. Pure: no clock, no I/O, no randomness of its
 * own, so both store adapters share exactly these decisions and the tests can drive it directly.
 * The decisions are here; the bookkeeping of what changed is WorkspaceLedger's (workspace-ledger.ts).
 */
import { TaskerError } from '../errors.js';
import { blockedSteps } from './blocking.js';
import { ENGINE_ERROR_TYPES, type StepFailure, type StepOutcome, type StepSuccess } from './outcomes.js';
import type { StepRecord, TaskSnapshot } from './records.js';
import { attemptBudget, retryDelaySeconds, shouldRetry } from './retry.js';
import { assertStepTransition, assertTaskTransition, SATISFIED_STEP_STATES } from './states.js';
import { WorkspaceLedger } from './workspace-ledger.js';
import { attemptRow, type OutcomeResult } from './workspace-rows.js';

export type { OutcomeResult, StepWrite, WorkspaceChanges } from './workspace-rows.js';

export class TaskWorkspace extends WorkspaceLedger {
  constructor(
    snapshot: TaskSnapshot,
    private readonly random: () => number = Math.random,
    wants: (eventName: string) => boolean = () => true,
  ) {
    super(snapshot, wants);
  }

  /** Take a ready step for execution under a lease. Returns false when it is no longer claimable. */
  claim(stepId: number, workerId: string, leaseExpiresAt: number, now: number): boolean {
    const found = this.stepById(stepId);
    if (!found || !this.claimable(found, now)) return false;
    const step = this.writable(found);
    if (this.task.status === 'pending') {
      this.setTaskStatus('in_progress', now, null);
      if (this.task.startedAt === null) this.task.startedAt = now;
      this.taskEvent('task.started', now);
    }
    step.attempts += 1;
    this.setStepStatus(step, 'in_progress', now, null, null);
    const queueWait = step.readyAt === null ? null : Math.max(0, now - step.readyAt);
    step.queuedAt = step.readyAt;
    step.readyAt = null;
    step.leaseOwner = workerId;
    step.leaseExpiresAt = leaseExpiresAt;
    step.startedAt = now;
    step.finishedAt = null;
    this.stepEvent('step.started', step, now, { queueWait });
    return true;
  }

  /** Record the end of an attempt. Fenced: a stale report (lease lost, newer attempt, cancelled) is ignored. */
  applyOutcome(outcome: StepOutcome): OutcomeResult {
    const step = this.stepById(outcome.stepId);
    if (!step) return { applied: false, reason: `step ${outcome.stepId} not in task ${this.task.id}` };
    if (step.status !== 'in_progress') return { applied: false, reason: `step is ${step.status}` };
    if (step.attempts !== outcome.attempt) {
      return { applied: false, reason: `attempt ${outcome.attempt} superseded by attempt ${step.attempts}` };
    }
    if (step.leaseOwner !== outcome.workerId) {
      return {
        applied: false,
        reason: `lease held by ${step.leaseOwner ?? 'nobody'}, not ${outcome.workerId}`,
      };
    }
    if (outcome.kind === 'success') this.succeed(this.writable(step), outcome);
    else this.fail(this.writable(step), outcome);
    this.evaluateTask(outcome.finishedAt);
    return { applied: true };
  }

  private succeed(step: StepRecord, o: StepSuccess): void {
    const now = o.finishedAt;
    this.recordAttempt(step, o, 'complete', null, null);
    this.setStepStatus(step, 'complete', now, o.attempt, null);
    step.results = o.results;
    step.errorMessage = null;
    step.errorType = null;
    this.releaseLease(step);
    step.finishedAt = now;
    this.stepEvent('step.completed', step, now, { duration: o.finishedAt - o.startedAt, spanId: o.spanId });
    this.markDependantsReady(step, now);
  }

  private fail(step: StepRecord, o: StepFailure): void {
    const now = o.finishedAt;
    const f = o.failure;
    const duration = o.finishedAt - o.startedAt;
    step.errorMessage = f.message;
    step.errorType = f.errorType;
    this.releaseLease(step);
    const err = { duration, error: f, spanId: o.spanId };
    if (f.errorType === ENGINE_ERROR_TYPES.timeout) this.stepEvent('step.timed_out', step, now, err);
    const policy = { ...step.retry, maxAttempts: step.attemptLimit };
    if (shouldRetry(policy, o.attempt, f.retryable)) {
      // Backoff counts attempts within the current budget, so an operator retry starts from the base delay.
      const budgetStart = step.attemptLimit - attemptBudget(step.retry);
      const nextInBudget = o.attempt + 1 - Math.max(0, budgetStart);
      const delay = retryDelaySeconds(step.retry, nextInBudget, f.retryAfterSeconds, this.random);
      this.recordAttempt(step, o, 'retry', f.message, f.errorType);
      this.setStepStatus(step, 'waiting_for_retry', now, o.attempt, f.message, f.errorType);
      step.readyAt = now + Math.round(delay * 1000);
      this.stepEvent('step.retry_scheduled', step, now, { ...err, nextAttemptAt: step.readyAt });
      return;
    }
    this.recordAttempt(step, o, 'error', f.message, f.errorType);
    this.setStepStatus(step, 'error', now, o.attempt, f.message, f.errorType);
    step.finishedAt = now;
    this.stepEvent('step.failed', step, now, err);
    if (step.retry.retryable && f.retryable) this.stepEvent('step.max_retries_reached', step, now, err);
  }

  /** Cancel the task: every step that has not finished is cancelled, running attempts included. */
  cancel(now: number, reason: string | null): void {
    assertTaskTransition(this.task.status, 'cancelled', this.task.id);
    for (const original of this.steps) {
      const open = ['pending', 'waiting_for_retry', 'in_progress'].includes(original.status);
      if (!open) continue;
      const step = this.writable(original);
      if (step.status === 'in_progress') {
        const startedAt = step.startedAt ?? now;
        this.attempts.push(
          attemptRow(
            step,
            step.attempts,
            startedAt,
            now,
            'cancelled',
            'task cancelled',
            'cancelled',
            step.leaseOwner,
          ),
        );
        step.queuedAt = null;
        this.releaseLease(step);
      }
      if (step.status === 'pending' || step.status === 'waiting_for_retry' || step.status === 'in_progress') {
        this.setStepStatus(step, 'cancelled', now, null, reason);
        step.readyAt = null;
        step.finishedAt = now;
        this.stepEvent('step.cancelled', step, now, {});
      }
    }
    this.setTaskStatus('cancelled', now, reason);
    this.task.finishedAt = now;
    this.taskEvent('task.cancelled', now, { terminal: true, reason });
  }

  /** Operator retry of a failed task: failed steps get a fresh attempt budget and run again. */
  retry(now: number, reason: string | null): void {
    assertTaskTransition(this.task.status, 'pending', this.task.id);
    const failed = this.steps.filter((s) => s.status === 'error');
    this.setTaskStatus('pending', now, reason ?? 'retry requested');
    this.task.finishedAt = null;
    this.taskEvent('task.retry_requested', now, { reason });
    for (const original of failed) {
      const step = this.writable(original);
      this.setStepStatus(step, 'pending', now, null, 'task retry');
      step.attemptLimit = step.attempts + attemptBudget(step.retry);
      step.errorMessage = null;
      step.errorType = null;
      step.finishedAt = null;
    }
    // Failed steps, and pending steps that a manual resolution unblocked while the task was failed.
    this.markAllReady(now);
  }

  /** Mark a step done by hand with the given results, so its dependants can run. */
  resolveStep(name: string, results: unknown, now: number): void {
    const found = this.stepByName(name);
    if (!found) {
      throw new TaskerError('STEP_NOT_FOUND', `task ${this.task.id} has no step "${name}"`, {
        taskId: this.task.id,
        step: name,
        steps: this.steps.map((s) => s.name),
      });
    }
    if (
      this.task.status === 'cancelled' ||
      this.task.status === 'complete' ||
      this.task.status === 'resolved_manually'
    ) {
      throw new TaskerError(
        'ILLEGAL_TRANSITION',
        `task ${this.task.id} is ${this.task.status}; its steps cannot be resolved`,
        {
          taskId: this.task.id,
          step: name,
        },
      );
    }
    // Refused before anything is touched: a refused action leaves the workspace with nothing to write.
    assertStepTransition(found.status, 'resolved_manually', this.task.id, name);
    const step = this.writable(found);
    this.setStepStatus(step, 'resolved_manually', now, null, 'resolved manually');
    step.results = results;
    step.readyAt = null;
    step.finishedAt = now;
    this.stepEvent('step.resolved_manually', step, now, { results });
    if (this.task.status === 'pending' && this.steps.every((s) => SATISFIED_STEP_STATES.has(s.status))) {
      // Every step resolved before any ran: the task still passes through in_progress, so its audit
      // trail and events read the same as any other completed task.
      this.setTaskStatus('in_progress', now, `step ${name} resolved manually`);
      if (this.task.startedAt === null) this.task.startedAt = now;
      this.taskEvent('task.started', now);
    }
    if (this.task.status === 'error') {
      if (this.steps.every((s) => SATISFIED_STEP_STATES.has(s.status))) {
        this.setTaskStatus('resolved_manually', now, `step ${name} resolved manually`);
        this.task.finishedAt = now;
        this.taskEvent('task.resolved_manually', now, { terminal: true });
      } else if (!this.steps.some((s) => s.status === 'error')) {
        // Nothing failed any more: hand the task back to the workers.
        this.setTaskStatus('pending', now, `step ${name} resolved manually`);
        this.task.finishedAt = null;
      }
    }
    // Dependants become claimable only while the task can run (invariant: ready_at set => task
    // pending or in_progress); a task still failed keeps them for its retry.
    this.markAllReady(now);
    if (this.task.status === 'in_progress') this.evaluateTask(now);
  }

  /** Close a failed task by hand without running the rest. */
  resolveTask(now: number, reason: string | null): void {
    assertTaskTransition(this.task.status, 'resolved_manually', this.task.id);
    for (const s of this.steps) {
      if (s.readyAt !== null) this.writable(s).readyAt = null;
    }
    this.setTaskStatus('resolved_manually', now, reason ?? 'resolved manually');
    this.task.finishedAt = now;
    this.taskEvent('task.resolved_manually', now, { terminal: true, reason });
  }

  private evaluateTask(now: number): void {
    if (this.task.status !== 'in_progress') return;
    if (this.steps.every((s) => SATISFIED_STEP_STATES.has(s.status))) {
      this.setTaskStatus('complete', now, null);
      this.task.finishedAt = now;
      this.taskEvent('task.completed', now, { terminal: true });
      return;
    }
    const failed = this.steps.filter((s) => s.status === 'error');
    if (failed.length === 0) return;
    // Independent branches keep going; the task fails once nothing can run any more.
    const canProgress = this.steps.some(
      (s) =>
        s.status === 'in_progress' ||
        s.status === 'waiting_for_retry' ||
        (s.status === 'pending' && s.readyAt !== null),
    );
    if (canProgress) return;
    const first = failed[0];
    this.setTaskStatus(
      'error',
      now,
      first ? `step ${first.name} failed: ${first.errorMessage ?? ''}` : null,
      first?.errorType ?? null,
    );
    this.task.finishedAt = now;
    for (const [name, blockedBy] of blockedSteps(this.steps)) {
      const step = this.stepByName(name);
      if (step) this.stepEvent('step.blocked', step, now, { blockedBy });
    }
    this.taskEvent('task.failed', now, { terminal: true, reason: first?.errorMessage ?? null });
  }
}
