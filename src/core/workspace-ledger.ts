/**
 * The bookkeeping under a TaskWorkspace: the snapshot being edited (copy-on-write), the status each row
 * was loaded with (the adapters fence their UPDATEs on it), and everything recorded on the way —
 * transitions, attempts, events — so that `changes()` is all an adapter needs to write. The decisions
 * themselves (claim, outcomes, operator actions) live in task-workspace.ts.
 */
import type { StepEventName, TaskEventName, TaskerEvent } from '../events/catalog.js';
import type { AttemptRecord, StepRecord, TaskRecord, TaskSnapshot, TransitionRecord } from './records.js';
import { assertStepTransition, assertTaskTransition, type StepState, type TaskState } from './states.js';
import { taskTraceContext, type TaskTraceContext } from './trace-context.js';
import {
  stepEventPayload,
  taskEventPayload,
  type StepEventExtras,
  type TaskEventExtras,
} from './workspace-events.js';
import { attemptRow, type StepWrite, type WorkspaceChanges } from './workspace-rows.js';
import type { StepOutcome } from './outcomes.js';
import { SATISFIED_STEP_STATES } from './states.js';

export abstract class WorkspaceLedger {
  readonly task: TaskRecord;
  /** In DAG position order. Copy-on-write: a step is cloned the first time this workspace changes it. */
  readonly steps: StepRecord[];
  private readonly indexById = new Map<number, number>();
  private readonly indexByName = new Map<string, number>();
  protected readonly loadedTaskStatus: TaskState;
  private readonly loadedSteps = new Map<number, { status: StepState; attempts: number }>();
  private taskDirty = false;
  private readonly dirtySteps = new Set<number>();
  private readonly transitions: TransitionRecord[] = [];
  protected readonly attempts: AttemptRecord[] = [];
  private readonly events: TaskerEvent[] = [];
  private trace: TaskTraceContext | undefined;

  constructor(
    snapshot: TaskSnapshot,
    /** Events nobody listens to are not built (payloads are a measurable share of a busy cycle). */
    private readonly wants: (eventName: string) => boolean,
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

  protected claimable(s: StepRecord, now: number): boolean {
    const taskRuns = this.task.status === 'pending' || this.task.status === 'in_progress';
    const waiting = s.status === 'pending' || s.status === 'waiting_for_retry';
    return taskRuns && waiting && s.readyAt !== null && s.readyAt <= now;
  }

  /** The step, cloned on first write, so the snapshot this workspace was built from stays untouched. */
  protected writable(step: StepRecord): StepRecord {
    if (this.loadedSteps.has(step.id)) return step;
    const copy = { ...step };
    this.loadedSteps.set(step.id, { status: step.status, attempts: step.attempts });
    const i = this.indexById.get(step.id);
    if (i !== undefined) this.steps[i] = copy;
    this.dirtySteps.add(step.id);
    return copy;
  }

  private dependenciesSatisfied(step: StepRecord): boolean {
    return step.dependsOn.every((d) => {
      const dep = this.stepByName(d);
      return dep !== undefined && SATISFIED_STEP_STATES.has(dep.status);
    });
  }

  /** Every pending step whose dependencies are satisfied becomes claimable (only while the task can run). */
  protected markAllReady(now: number): void {
    if (this.task.status !== 'pending' && this.task.status !== 'in_progress') return;
    for (const s of this.steps) {
      if (s.status === 'pending' && s.readyAt === null && this.dependenciesSatisfied(s))
        this.writable(s).readyAt = now;
    }
  }

  protected markDependantsReady(done: StepRecord, now: number): void {
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

  protected releaseLease(step: StepRecord): void {
    step.leaseOwner = null;
    step.leaseExpiresAt = null;
  }

  protected recordAttempt(
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

  protected setStepStatus(
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

  protected setTaskStatus(
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

  /** Derived once per workspace: every event of the task carries its trace id. */
  private traceContext(): TaskTraceContext {
    return (this.trace ??= taskTraceContext(this.task.id, this.task.traceparent));
  }

  protected taskEvent(name: TaskEventName, at: number, opts: TaskEventExtras = {}): void {
    if (!this.wants(name)) return;
    const payload = taskEventPayload(
      name,
      this.task,
      this.steps,
      this.loadedTaskStatus,
      this.traceContext(),
      at,
      opts,
    );
    this.events.push({ name, payload });
  }

  protected stepEvent(name: StepEventName, step: StepRecord, at: number, extra: StepEventExtras): void {
    if (!this.wants(name)) return;
    const payload = stepEventPayload(name, this.task, step, this.traceContext(), at, extra);
    this.events.push({ name, payload });
  }
}
