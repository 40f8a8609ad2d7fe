/**
 * A read model of one task for people: steps in DAG order with their times, errors and what blocks them.
 * Pure; shared by `tasker show`, the library's getTask() and (later) the HTTP API.
 */
import { blockedSteps } from './blocking.js';
import type { AttemptRecord, TaskRecord, TaskSnapshot } from './records.js';
import type { StepState } from './states.js';

export type StepDisplayStatus = StepState | 'blocked';

export interface StepDescription {
  id: number;
  name: string;
  handler: string;
  status: StepState;
  /** `blocked` for a pending step that cannot run because a step upstream failed or was cancelled. */
  displayStatus: StepDisplayStatus;
  dependsOn: string[];
  attempts: number;
  maxAttempts: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** Sum of all attempt durations (ms); null before the first attempt ends. */
  executionTimeMs: number | null;
  errorMessage: string | null;
  errorType: string | null;
  blockedBy: string[];
  readyAt: number | null;
  /** While in_progress: when the running attempt became claimable. */
  queuedAt: number | null;
  /** The worker running the step, and until when its lease holds (while in_progress). */
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  timeoutMs: number | null;
  handlerConfig: Record<string, unknown>;
  results: unknown;
}

export interface TaskDescription {
  task: TaskRecord;
  steps: StepDescription[];
  failedSteps: string[];
  blockedSteps: string[];
  /** The failed step when the task failed; otherwise the step with the most execution time. */
  bottleneckStep: string | null;
  /** created → finished (or now-less: null while running) in ms */
  durationMs: number | null;
}

export function describeTask(snapshot: TaskSnapshot, attempts: AttemptRecord[]): TaskDescription {
  const { task } = snapshot;
  const steps = [...snapshot.steps].sort((a, b) => a.position - b.position);
  const timeByStep = new Map<number, number>();
  for (const a of attempts) timeByStep.set(a.stepId, (timeByStep.get(a.stepId) ?? 0) + a.durationMs);
  const blocked = blockedSteps(steps);

  const described = steps.map((s): StepDescription => {
    const blockedBy = blocked.get(s.name) ?? [];
    return {
      id: s.id,
      name: s.name,
      handler: s.handler,
      status: s.status,
      displayStatus: blockedBy.length > 0 ? 'blocked' : s.status,
      dependsOn: s.dependsOn,
      attempts: s.attempts,
      maxAttempts: s.attemptLimit,
      startedAt: s.startedAt,
      finishedAt: s.finishedAt,
      executionTimeMs: timeByStep.get(s.id) ?? null,
      errorMessage: s.errorMessage,
      errorType: s.errorType,
      blockedBy,
      readyAt: s.readyAt,
      queuedAt: s.queuedAt,
      leaseOwner: s.leaseOwner,
      leaseExpiresAt: s.leaseExpiresAt,
      timeoutMs: s.timeoutMs,
      handlerConfig: s.handlerConfig,
      results: s.results,
    };
  });
  const failed = described.filter((s) => s.status === 'error');
  let bottleneck: string | null = failed[0]?.name ?? null;
  if (bottleneck === null) {
    let best = -1;
    for (const s of described) {
      if ((s.executionTimeMs ?? -1) > best) {
        best = s.executionTimeMs ?? -1;
        bottleneck = s.name;
      }
    }
    if (best < 0) bottleneck = null;
  }
  return {
    task,
    steps: described,
    failedSteps: failed.map((s) => s.name),
    blockedSteps: described.filter((s) => s.displayStatus === 'blocked').map((s) => s.name),
    bottleneckStep: bottleneck,
    durationMs: task.finishedAt === null ? null : task.finishedAt - task.createdAt,
  };
}
