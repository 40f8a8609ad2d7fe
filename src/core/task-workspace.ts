/**
 * The planner: every state change of a task goes through a TaskWorkspace. It holds a snapshot of one task
 * (task row + all its step rows) loaded inside the store's transaction, applies operations in memory
 * with the state machines' checks, and records what changed: rows to write, transitions to append,
 * attempts to record and events to publish after the commit. Pure: no clock, no I/O, no randomness of its
 * own, so both store adapters share exactly these decisions and the tests can drive it directly.
 */
import { TaskerError } from '../errors.js';
import type {
  StepEventName,
  StepEventPayload,
  TaskEventName,
  TaskEventPayload,
  TaskerEvent,
} from '../events/catalog.js';
import { blockedSteps } from './blocking.js';
import { ENGINE_ERROR_TYPES, type StepFailure, type StepOutcome, type StepSuccess } from './outcomes.js';
import type { AttemptRecord, StepRecord, TaskRecord, TaskSnapshot, TransitionRecord } from './records.js';
import { attemptBudget, retryDelaySeconds, shouldRetry } from './retry.js';
import { taskTraceContext, type TaskTraceContext } from './trace-context.js';
import {
  assertStepTransition,
  assertTaskTransition,
  SATISFIED_STEP_STATES,
  type StepState,
  type TaskState,
} from './states.js';

export interface StepWrite {
  record: StepRecord;
  /** Status and attempt count as loaded: the adapter's UPDATE is fenced on them. */
  expectStatus: StepState;
  expectAttempts: number;
}

export interface WorkspaceChanges {
  task: { record: TaskRecord; expectStatus: TaskState } | null;
  steps: StepWrite[];
  transitions: TransitionRecord[];
  attempts: AttemptRecord[];
  events: TaskerEvent[];
}

export type OutcomeResult = { applied: true } | { applied: false; reason: string };

export class TaskWorkspace {
  readonly task: TaskRecord;
  /** In DAG position order. Copy-on-write: a step is cloned the first time this workspace changes it. */
  readonly steps: StepRecord[];
  private readonly indexById = new Map<number, number>();
  private readonly indexByName = new Map<string, number>();
  private readonly loadedTaskStatus: TaskState;
  private readonly loadedSteps = new Map<number, { status: StepState; attempts: number }>();
  private taskDirty = false;
  private readonly dirtySteps = new Set<number>();
  private transitions: TransitionRecord[] = [];
  private attempts: AttemptRecord[] = [];
  private events: TaskerEvent[] = [];

  constructor(
    snapshot: TaskSnapshot,
    private readonly random: () => number = Math.random,
    /** Events nobody listens to are not built (payloads are a measurable share of a busy cycle). */
    private readonly wants: (eventName: string) => boolean = () => true,
  ) {
    this.task = { ...snapshot.task };
    this.steps = snapshot.steps.slice();
    if (this.steps.some((s, i) => i > 0 && (this.steps[i - 1]?.position ?? 0) > s.position)) {
      this.steps.sort((a, b) => a.position - b.position);
    }
    this.loadedTaskStatus = snapshot.task.status;
    this.steps.forEach((s, i) => {
      this.indexById.set(s.id, i);
      this.indexByName.set(s.name, i);
    });
  }

  stepById(id: number): StepRecord | undefined {
    const i = this.indexById.get(id);
    return i === undefined ? undefined : this.steps[i];
  }

  stepByName(name: string): StepRecord | undefined {
    const i = this.indexByName.get(name);
    return i === undefined ? undefined : this.steps[i];
  }

  /** Steps that may be claimed at `now` (dependencies satisfied, backoff elapsed), in DAG order. */
  readyStepIds(now: number): number[] {
    return this.steps.filter((s) => this.claimable(s, now)).map((s) => s.id);
  }

  private claimable(s: StepRecord, now: number): boolean {
    const taskRuns = this.task.status === 'pending' || this.task.status === 'in_progress';
    const waiting = s.status === 'pending' || s.status === 'waiting_for_retry';
    return taskRuns && waiting && s.readyAt !== null && s.readyAt <= now;
  }

  /** The step, cloned on first write, so the snapshot this workspace was built from stays untouched. */
  private writable(step: StepRecord): StepRecord {
    if (this.loadedSteps.has(step.id)) return step;
    const copy = { ...step };
    this.loadedSteps.set(step.id, { status: step.status, attempts: step.attempts });
    const i = this.indexById.get(step.id);
    if (i !== undefined) this.steps[i] = copy;
    this.dirtySteps.add(step.id);
    return copy;
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

  changes(): WorkspaceChanges {
    const steps: StepWrite[] = [];
    for (const id of this.dirtySteps) {
      const record = this.stepById(id);
      const loaded = this.loadedSteps.get(id);
      if (record && loaded)
        steps.push({ record, expectStatus: loaded.status, expectAttempts: loaded.attempts });
    }
    return {
      task: this.taskDirty ? { record: this.task, expectStatus: this.loadedTaskStatus } : null,
      steps,
      transitions: this.transitions,
      attempts: this.attempts,
      events: this.events,
    };
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

  private dependenciesSatisfied(step: StepRecord): boolean {
    return step.dependsOn.every((d) => {
      const dep = this.stepByName(d);
      return dep !== undefined && SATISFIED_STEP_STATES.has(dep.status);
    });
  }

  /** Every pending step whose dependencies are satisfied becomes claimable (only while the task can run). */
  private markAllReady(now: number): void {
    if (this.task.status !== 'pending' && this.task.status !== 'in_progress') return;
    for (const s of this.steps) {
      if (s.status === 'pending' && s.readyAt === null && this.dependenciesSatisfied(s))
        this.writable(s).readyAt = now;
    }
  }

  private markDependantsReady(done: StepRecord, now: number): void {
    if (this.task.status !== 'pending' && this.task.status !== 'in_progress') return;
    for (const s of this.steps) {
      if (
        s.status === 'pending' &&
        s.readyAt === null &&
        s.dependsOn.includes(done.name) &&
        this.dependenciesSatisfied(s)
      ) {
        this.writable(s).readyAt = now;
      }
    }
  }

  private releaseLease(step: StepRecord): void {
    step.leaseOwner = null;
    step.leaseExpiresAt = null;
  }

  private recordAttempt(
    step: StepRecord,
    o: StepOutcome,
    outcome: AttemptRecord['outcome'],
    errorMessage: string | null,
    errorType: string | null,
  ): void {
    this.attempts.push(
      attemptRow(step, o.attempt, o.startedAt, o.finishedAt, outcome, errorMessage, errorType, o.workerId),
    );
    // queued_at belongs to the attempt in flight; the next one (a retry, an operator's) gets its own.
    step.queuedAt = null;
  }

  private setStepStatus(
    step: StepRecord,
    to: StepState,
    at: number,
    attempt: number | null,
    reason: string | null,
    errorType: string | null = null,
  ): void {
    assertStepTransition(step.status, to, this.task.id, step.name);
    this.transitions.push({
      taskId: this.task.id,
      stepName: step.name,
      fromState: step.status,
      toState: to,
      at,
      attempt: attempt ?? (step.attempts > 0 ? step.attempts : null),
      reason,
      errorType,
    });
    step.status = to;
    this.dirtySteps.add(step.id);
  }

  private setTaskStatus(
    to: TaskState,
    at: number,
    reason: string | null,
    errorType: string | null = null,
  ): void {
    assertTaskTransition(this.task.status, to, this.task.id);
    this.transitions.push({
      taskId: this.task.id,
      stepName: null,
      fromState: this.task.status,
      toState: to,
      at,
      attempt: null,
      reason,
      errorType,
    });
    this.task.status = to;
    this.task.updatedAt = at;
    this.taskDirty = true;
  }

  private trace: TaskTraceContext | undefined;

  /** Derived once per workspace: every event of the task carries its trace id. */
  private traceContext(): TaskTraceContext {
    return (this.trace ??= taskTraceContext(this.task.id, this.task.traceparent));
  }

  private taskEvent(
    name: TaskEventName,
    at: number,
    opts: { terminal?: boolean; reason?: string | null } = {},
  ): void {
    if (!this.wants(name)) return;
    const t = this.task;
    const trace = this.traceContext();
    // One literal (no spread of a shared base): payload building is a visible share of a busy cycle.
    const payload: TaskEventPayload = {
      event: name,
      timestamp: new Date(at).toISOString(),
      task_id: t.id,
      task_name: t.name,
      namespace_name: t.namespace,
      task_version: t.version,
      correlation_id: t.correlationId,
      trace_id: trace.traceId,
      span_id: trace.spanId,
      status: t.status,
    };
    if (opts.reason !== undefined) payload.reason = opts.reason;
    if (opts.terminal) {
      const started = t.startedAt ?? t.createdAt;
      payload.execution_duration_seconds = (at - started) / 1000;
      payload.created_at = new Date(t.createdAt).toISOString();
      payload.traceparent = t.traceparent;
      // The task failed before and was retried or resolved: this is a second end of the same task.
      payload.after_failure =
        name !== 'task.failed' &&
        (this.loadedTaskStatus === 'error' ||
          this.steps.some((s) => s.attemptLimit > attemptBudget(s.retry)));
      payload.total_steps = this.steps.length;
      payload.completed_steps = this.steps.filter((s) => SATISFIED_STEP_STATES.has(s.status)).length;
      payload.failed_steps = this.steps.filter((s) => s.status === 'error').length;
      payload.context = t.context;
    }
    this.events.push({ name, payload });
  }

  private stepEvent(
    name: StepEventName,
    step: StepRecord,
    at: number,
    extra: {
      duration?: number;
      error?: { message: string; errorType: string };
      nextAttemptAt?: number;
      blockedBy?: string[];
      results?: unknown;
      queueWait?: number | null;
      spanId?: string | undefined;
    },
  ): void {
    if (!this.wants(name)) return;
    const t = this.task;
    const trace = this.traceContext();
    const payload: StepEventPayload = {
      event: name,
      timestamp: new Date(at).toISOString(),
      task_id: t.id,
      task_name: t.name,
      namespace_name: t.namespace,
      task_version: t.version,
      correlation_id: t.correlationId,
      trace_id: trace.traceId,
      span_id: extra.spanId ?? trace.spanId,
      step_name: step.name,
      attempt: step.attempts,
      max_attempts: step.attemptLimit,
      execution_duration_seconds: extra.duration === undefined ? null : extra.duration / 1000,
      error_message: extra.error?.message ?? null,
      error_type: extra.error?.errorType ?? null,
    };
    if (extra.queueWait !== undefined)
      payload.queue_wait_seconds = extra.queueWait === null ? null : extra.queueWait / 1000;
    if (extra.nextAttemptAt !== undefined)
      payload.next_attempt_at = new Date(extra.nextAttemptAt).toISOString();
    if (extra.blockedBy) payload.blocked_by = extra.blockedBy;
    if (name === 'step.resolved_manually') payload.results = extra.results;
    this.events.push({ name, payload });
  }
}

function attemptRow(
  step: StepRecord,
  attempt: number,
  startedAt: number,
  finishedAt: number,
  outcome: AttemptRecord['outcome'],
  errorMessage: string | null,
  errorType: string | null,
  workerId: string | null,
): AttemptRecord {
  return {
    taskId: step.taskId,
    stepId: step.id,
    stepName: step.name,
    attempt,
    // The step's queued_at belongs to its current attempt: the one being recorded.
    queuedAt: attempt === step.attempts ? step.queuedAt : null,
    startedAt,
    finishedAt,
    durationMs: finishedAt - startedAt,
    outcome,
    errorMessage,
    errorType,
    workerId,
  };
}
