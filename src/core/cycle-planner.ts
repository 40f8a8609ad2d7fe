/**
 * One worker cycle, decided in memory: record finished attempts, recover expired leases, claim ready
 * steps. Store adapters drive it in the same order — load snapshots (under whatever locking their
 * database needs), hand them in, write what the workspaces changed — so SQLite and PostgreSQL share every
 * decision, including claim order: steps this cycle made ready first (tasks in flight finish first), then
 * the oldest ready steps the adapter found.
 */
import { ENGINE_ERROR_TYPES, type StepOutcome } from './outcomes.js';
import type { StepRecord, TaskRecord, TaskSnapshot } from './records.js';
import { TaskWorkspace, type OutcomeResult } from './task-workspace.js';

export interface ClaimRules {
  limit: number;
  leaseMs: number;
  perTaskLimit?: number | undefined;
  inFlightByTask?: ReadonlyMap<string, number> | undefined;
  handlers?: ReadonlySet<string> | undefined;
}

export interface ClaimedStepPlan {
  task: TaskRecord;
  step: StepRecord;
  steps: StepRecord[];
}

/** A step found by an adapter query (an expired lease, a ready candidate). */
export interface StepRef {
  taskId: string;
  stepId: number;
}

export class CyclePlanner {
  private readonly spaces = new Map<string, TaskWorkspace>();
  readonly applied: Array<{ outcome: StepOutcome; result: OutcomeResult }> = [];
  readonly claimed: ClaimedStepPlan[] = [];
  recovered = 0;
  private perTask: Map<string, number> | undefined;

  constructor(
    private readonly workerId: string,
    private readonly now: number,
    private readonly random: () => number,
    private readonly wantsEvent: ((name: string) => boolean) | undefined,
  ) {}

  /** Task ids whose snapshots the planner does not hold yet. */
  missing(taskIds: Iterable<string>): string[] {
    const out = new Set<string>();
    for (const id of taskIds) if (!this.spaces.has(id)) out.add(id);
    return [...out];
  }

  /** Hand in snapshots loaded (and, where the database needs it, locked) by the adapter. */
  add(snapshots: Iterable<TaskSnapshot>): void {
    for (const snap of snapshots) {
      if (!this.spaces.has(snap.task.id)) {
        this.spaces.set(snap.task.id, new TaskWorkspace(snap, this.random, this.wantsEvent));
      }
    }
  }

  has(taskId: string): boolean {
    return this.spaces.has(taskId);
  }

  applyOutcomes(outcomes: readonly StepOutcome[]): void {
    for (const outcome of outcomes) {
      const ws = this.spaces.get(outcome.taskId);
      const result = ws ? ws.applyOutcome(outcome) : { applied: false as const, reason: 'task not found' };
      this.applied.push({ outcome, result });
    }
  }

  /** Record attempts whose lease expired as failed with worker_lost (retried per policy). */
  recover(expired: readonly StepRef[]): void {
    for (const e of expired) {
      const ws = this.spaces.get(e.taskId);
      const step = ws?.stepById(e.stepId);
      if (!ws || !step || step.status !== 'in_progress' || step.leaseOwner === null) continue;
      if (step.leaseExpiresAt !== null && step.leaseExpiresAt >= this.now) continue;
      const r = ws.applyOutcome({
        kind: 'failure',
        taskId: e.taskId,
        stepId: e.stepId,
        attempt: step.attempts,
        workerId: step.leaseOwner,
        startedAt: step.startedAt ?? this.now,
        finishedAt: this.now,
        failure: {
          message: `worker ${step.leaseOwner} stopped renewing its lease (expired ${new Date(step.leaseExpiresAt ?? this.now).toISOString()}); attempt presumed lost`,
          errorType: ENGINE_ERROR_TYPES.workerLost,
          retryable: true,
        },
      });
      if (r.applied) this.recovered += 1;
    }
  }

  /** Room left in this cycle's claim batch. */
  room(rules: ClaimRules): number {
    return Math.max(0, rules.limit - this.claimed.length);
  }

  /** Claim the steps that became ready in memory during this cycle (not yet visible to any query). */
  claimReadyInMemory(rules: ClaimRules): void {
    for (const ws of this.spaces.values()) {
      for (const id of ws.readyStepIds(this.now)) {
        if (this.room(rules) === 0) return;
        this.tryClaim(ws, id, rules);
      }
    }
  }

  /** Claim candidates found by the adapter's ready query, in the order given. */
  claimCandidates(candidates: readonly StepRef[], rules: ClaimRules): void {
    for (const c of candidates) {
      if (this.room(rules) === 0) return;
      const ws = this.spaces.get(c.taskId);
      if (ws) this.tryClaim(ws, c.stepId, rules);
    }
  }

  workspaces(): IterableIterator<TaskWorkspace> {
    return this.spaces.values();
  }

  /** Forget the workspaces once the cycle is written; `applied`, `claimed` and `recovered` stay. */
  release(): void {
    this.spaces.clear();
    this.perTask = undefined;
  }

  private tryClaim(ws: TaskWorkspace, stepId: number, rules: ClaimRules): void {
    const perTask = this.slots(rules);
    const n = perTask.get(ws.task.id) ?? 0;
    if (rules.perTaskLimit !== undefined && n >= rules.perTaskLimit) return;
    const handler = ws.stepById(stepId)?.handler;
    if (rules.handlers && (handler === undefined || !rules.handlers.has(handler))) return;
    if (!ws.claim(stepId, this.workerId, this.now + rules.leaseMs, this.now)) return;
    perTask.set(ws.task.id, n + 1);
    const step = ws.stepById(stepId);
    if (step) this.claimed.push({ task: ws.task, step, steps: ws.steps });
  }

  /** Steps per task in flight on this worker, less those whose outcome this cycle records. */
  private slots(rules: ClaimRules): Map<string, number> {
    if (!this.perTask) {
      this.perTask = new Map(rules.inFlightByTask ?? []);
      for (const { outcome } of this.applied) {
        this.perTask.set(outcome.taskId, (this.perTask.get(outcome.taskId) ?? 1) - 1);
      }
    }
    return this.perTask;
  }
}
