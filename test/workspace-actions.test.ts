/**
 * Operator actions on the planner's TaskWorkspace, table-driven over (task status × action): what each
 * legal action leaves (task and step statuses, readiness, events) and that an illegal one throws
 * ILLEGAL_TRANSITION and records nothing, so no half-written state can reach a store.
 */
import { describe, expect, it } from 'vitest';
import { buildNewTask } from '../src/core/new-task.js';
import type { StepRecord, TaskSnapshot } from '../src/core/records.js';
import { TaskWorkspace } from '../src/core/task-workspace.js';
import type { RetryPolicy, TaskTemplate } from '../src/core/template.js';

const retry: RetryPolicy = {
  retryable: true,
  maxAttempts: 2,
  backoff: { baseSeconds: 1, multiplier: 2, maxSeconds: 10, jitter: 0 },
};
const T0 = 1000;
const NOW = 50_000;

function fresh(): TaskSnapshot {
  const template: TaskTemplate = {
    namespace: 'n',
    name: 't',
    version: '1.0.0',
    steps: [
      { name: 'a', handler: 'h', dependsOn: [], retry, handlerConfig: {} },
      { name: 'b', handler: 'h', dependsOn: ['a'], retry, handlerConfig: {} },
    ],
  };
  const d = buildNewTask(template, {
    id: 'task',
    context: {},
    correlationId: 'c',
    idempotencyKey: null,
    tags: [],
    now: T0,
  });
  return { task: d.task, steps: d.steps.map((s, i): StepRecord => ({ ...s, id: i + 1 })) };
}

const ws = (snap: TaskSnapshot) => new TaskWorkspace(structuredClone(snap), () => 0.5);
const snapshotOf = (w: TaskWorkspace): TaskSnapshot => structuredClone({ task: w.task, steps: w.steps });
const succeed = (w: TaskWorkspace, stepId: number, at: number) =>
  w.applyOutcome({
    kind: 'success',
    taskId: 'task',
    stepId,
    attempt: w.stepById(stepId)!.attempts,
    workerId: 'w1',
    startedAt: at - 5,
    finishedAt: at,
    results: { ok: true },
  });

/** The task in each status, reached through the planner itself. */
const STATES: Record<string, () => TaskSnapshot> = {
  pending: fresh,
  in_progress: () => {
    const w = ws(fresh());
    w.claim(1, 'w1', T0 + 30_000, T0);
    return snapshotOf(w);
  },
  error: () => {
    const w = ws(fresh());
    w.claim(1, 'w1', T0 + 30_000, T0);
    w.applyOutcome({
      kind: 'failure',
      taskId: 'task',
      stepId: 1,
      attempt: 1,
      workerId: 'w1',
      startedAt: T0,
      finishedAt: T0 + 10,
      failure: { message: 'card declined', errorType: 'PermanentError', retryable: false },
    });
    return snapshotOf(w);
  },
  complete: () => {
    const w = ws(fresh());
    w.claim(1, 'w1', T0 + 30_000, T0);
    succeed(w, 1, T0 + 10);
    w.claim(2, 'w1', T0 + 30_000, T0 + 10);
    succeed(w, 2, T0 + 20);
    return snapshotOf(w);
  },
  cancelled: () => {
    const w = ws(fresh());
    w.cancel(T0 + 5, 'not needed');
    return snapshotOf(w);
  },
  resolved_manually: () => {
    const w = ws(STATES.error!());
    w.resolveTask(T0 + 20, 'handled elsewhere');
    return snapshotOf(w);
  },
};

type Action = 'cancel' | 'retry' | 'resolveTask' | 'resolveStep a';
const act = (w: TaskWorkspace, a: Action) => {
  if (a === 'cancel') w.cancel(NOW, 'why');
  else if (a === 'retry') w.retry(NOW, 'why');
  else if (a === 'resolveTask') w.resolveTask(NOW, 'why');
  else w.resolveStep('a', { by: 'hand' }, NOW);
};

interface After {
  task: string;
  steps: [string, string];
  /** Steps claimable right after the action. */
  ready: string[];
  events: string[];
}

/** null: ILLEGAL_TRANSITION. */
const TABLE: Record<string, Record<Action, After | null>> = {
  pending: {
    cancel: {
      task: 'cancelled',
      steps: ['cancelled', 'cancelled'],
      ready: [],
      events: ['step.cancelled', 'step.cancelled', 'task.cancelled'],
    },
    retry: null,
    resolveTask: null,
    'resolveStep a': {
      task: 'pending',
      steps: ['resolved_manually', 'pending'],
      ready: ['b'],
      events: ['step.resolved_manually'],
    },
  },
  in_progress: {
    cancel: {
      task: 'cancelled',
      steps: ['cancelled', 'cancelled'],
      ready: [],
      events: ['step.cancelled', 'step.cancelled', 'task.cancelled'],
    },
    retry: null,
    resolveTask: null,
    // A running step cannot be resolved under its worker: its attempt would race the resolution.
    'resolveStep a': null,
  },
  error: {
    cancel: {
      task: 'cancelled',
      steps: ['error', 'cancelled'],
      ready: [],
      events: ['step.cancelled', 'task.cancelled'],
    },
    retry: { task: 'pending', steps: ['pending', 'pending'], ready: ['a'], events: ['task.retry_requested'] },
    resolveTask: {
      task: 'resolved_manually',
      steps: ['error', 'pending'],
      ready: [],
      events: ['task.resolved_manually'],
    },
    'resolveStep a': {
      task: 'pending',
      steps: ['resolved_manually', 'pending'],
      ready: ['b'],
      events: ['step.resolved_manually'],
    },
  },
  complete: { cancel: null, retry: null, resolveTask: null, 'resolveStep a': null },
  cancelled: { cancel: null, retry: null, resolveTask: null, 'resolveStep a': null },
  resolved_manually: { cancel: null, retry: null, resolveTask: null, 'resolveStep a': null },
};

describe('TaskWorkspace operator actions (task status × action)', () => {
  for (const [status, row] of Object.entries(TABLE)) {
    for (const [action, after] of Object.entries(row) as Array<[Action, After | null]>) {
      it(`${status} + ${action} → ${after ? after.task : 'ILLEGAL_TRANSITION, nothing recorded'}`, () => {
        const before = STATES[status]!();
        expect(before.task.status).toBe(status);
        const w = ws(before);
        if (!after) {
          expect(() => act(w, action)).toThrow(expect.objectContaining({ code: 'ILLEGAL_TRANSITION' }));
          const c = w.changes();
          expect([c.task, c.steps, c.transitions, c.attempts, c.events]).toEqual([null, [], [], [], []]);
          return;
        }
        act(w, action);
        expect(w.task.status).toBe(after.task);
        expect(w.steps.map((s) => s.status)).toEqual(after.steps);
        expect(w.readyStepIds(NOW).map((id) => w.stepById(id)!.name)).toEqual(after.ready);
        const c = w.changes();
        expect(c.events.map((e) => e.name)).toEqual(after.events);
        // Every status change is a transition row, and the snapshot handed in is left untouched.
        const changedSteps = w.steps.filter((s, i) => s.status !== before.steps[i]!.status).length;
        const taskChanged = w.task.status !== before.task.status ? 1 : 0;
        expect(c.transitions).toHaveLength(changedSteps + taskChanged);
        expect(before.task.status).toBe(status);
      });
    }
  }

  it('a retry gives the failed step a fresh attempt budget and clears its error', () => {
    const w = ws(STATES.error!());
    w.retry(NOW, 'fixed');
    expect(w.stepByName('a')).toMatchObject({
      attempts: 1,
      attemptLimit: 1 + retry.maxAttempts,
      errorMessage: null,
      errorType: null,
      readyAt: NOW,
    });
  });

  it('cancelling a running step records its attempt as cancelled and releases the lease', () => {
    const w = ws(STATES.in_progress!());
    w.cancel(NOW, 'stop');
    expect(w.changes().attempts).toEqual([
      expect.objectContaining({ stepName: 'a', attempt: 1, outcome: 'cancelled', errorType: 'cancelled' }),
    ]);
    expect(w.stepByName('a')).toMatchObject({ leaseOwner: null, leaseExpiresAt: null });
  });
});
