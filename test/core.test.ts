/** The pure core: retry math, state machines, and the planner's fencing. */
import { describe, expect, it } from 'vitest';
import { buildNewTask } from '../src/core/new-task.js';
import type { StepRecord, TaskSnapshot } from '../src/core/records.js';
import { attemptBudget, backoffSeconds, retryDelaySeconds, shouldRetry } from '../src/core/retry.js';
import { assertStepTransition, assertTaskTransition, canTransitionStep } from '../src/core/states.js';
import { TaskWorkspace } from '../src/core/task-workspace.js';
import type { RetryPolicy, TaskTemplate } from '../src/core/template.js';
import { normalizeThrown, PermanentError, RetryableError, TaskerError } from '../src/errors.js';

const policy: RetryPolicy = {
  retryable: true,
  maxAttempts: 5,
  backoff: { baseSeconds: 1, multiplier: 2, maxSeconds: 10, jitter: 0.1 },
};

describe('retry math', () => {
  it('grows exponentially from the base and is capped', () => {
    const mid = () => 0.5; // no jitter
    expect([2, 3, 4, 5, 6, 7].map((n) => backoffSeconds(policy, n, mid))).toEqual([1, 2, 4, 8, 10, 10]);
  });

  it('spreads by at most ±jitter', () => {
    expect(backoffSeconds(policy, 4, () => 0)).toBeCloseTo(3.6);
    expect(backoffSeconds(policy, 4, () => 0.999999)).toBeCloseTo(4.4, 3);
  });

  it('lets retryAfter win but caps it', () => {
    expect(retryDelaySeconds(policy, 2, 3, () => 0.5)).toBe(3);
    expect(retryDelaySeconds(policy, 2, 3600, () => 0.5)).toBe(10);
  });

  it('retries only retryable failures with attempts left', () => {
    expect(shouldRetry(policy, 4, true)).toBe(true);
    expect(shouldRetry(policy, 5, true)).toBe(false);
    expect(shouldRetry(policy, 1, false)).toBe(false);
    expect(shouldRetry({ ...policy, retryable: false }, 1, true)).toBe(false);
  });

  it('gives a run of a step its maximum attempts, or one when it is not retryable', () => {
    expect(attemptBudget(policy)).toBe(policy.maxAttempts);
    expect(attemptBudget({ ...policy, retryable: false })).toBe(1);
  });
});

describe('state machines', () => {
  it('throws a coded error on an illegal transition', () => {
    expect(() => assertTaskTransition('complete', 'in_progress', 't1')).toThrow(TaskerError);
    try {
      assertStepTransition('complete', 'pending', 't1', 's');
    } catch (e) {
      expect((e as TaskerError).code).toBe('ILLEGAL_TRANSITION');
      expect((e as TaskerError).details).toMatchObject({ from: 'complete', to: 'pending', step: 's' });
    }
    expect(canTransitionStep('in_progress', 'waiting_for_retry')).toBe(true);
    expect(canTransitionStep('waiting_for_retry', 'complete')).toBe(false);
  });
});

describe('normalizeThrown', () => {
  it('classifies errors, non-errors and foreign permanent errors', () => {
    expect(normalizeThrown(new PermanentError('x'))).toMatchObject({
      retryable: false,
      errorType: 'PermanentError',
    });
    expect(normalizeThrown(new RetryableError('x', { retryAfterSeconds: 2 }))).toMatchObject({
      retryable: true,
      retryAfterSeconds: 2,
    });
    expect(normalizeThrown({ retryable: false, message: 'foreign' })).toMatchObject({ retryable: false });
    expect(normalizeThrown(undefined)).toMatchObject({
      retryable: true,
      message: 'non-Error thrown: undefined',
    });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(normalizeThrown(circular).message).toMatch(/non-Error thrown/);
  });
});

function snapshot(): TaskSnapshot {
  const template: TaskTemplate = {
    namespace: 'n',
    name: 't',
    version: '1.0.0',
    steps: [
      { name: 'a', handler: 'h', dependsOn: [], retry: policy, handlerConfig: {} },
      { name: 'b', handler: 'h', dependsOn: ['a'], retry: policy, handlerConfig: {} },
    ],
  };
  const draft = buildNewTask(template, {
    id: 'task-1',
    context: {},
    correlationId: 'c',
    idempotencyKey: null,
    tags: [],
    now: 1000,
  });
  return { task: draft.task, steps: draft.steps.map((s, i): StepRecord => ({ ...s, id: i + 1 })) };
}

describe('planner (TaskWorkspace)', () => {
  it('claims only ready steps and makes dependants ready on success', () => {
    const ws = new TaskWorkspace(snapshot(), () => 0.5);
    expect(ws.claim(2, 'w1', 5000, 1000)).toBe(false); // b waits for a
    expect(ws.claim(1, 'w1', 5000, 1000)).toBe(true);
    expect(ws.task.status).toBe('in_progress');
    const r = ws.applyOutcome({
      kind: 'success',
      taskId: 'task-1',
      stepId: 1,
      attempt: 1,
      workerId: 'w1',
      startedAt: 1000,
      finishedAt: 1010,
      results: 1,
    });
    expect(r.applied).toBe(true);
    expect(ws.stepById(2)?.readyAt).toBe(1010);
    const c = ws.changes();
    expect(c.transitions.map((t) => `${t.stepName ?? 'task'}:${t.fromState}->${t.toState}`)).toEqual([
      'task:pending->in_progress',
      'a:pending->in_progress',
      'a:in_progress->complete',
    ]);
    expect(c.events.map((e) => e.name)).toEqual(['task.started', 'step.started', 'step.completed']);
  });

  it('fences out stale reports: wrong worker, superseded attempt, step no longer running', () => {
    const ws = new TaskWorkspace(snapshot(), () => 0.5);
    ws.claim(1, 'w1', 5000, 1000);
    const base = { taskId: 'task-1', stepId: 1, startedAt: 1000, finishedAt: 1010, results: 1 } as const;
    expect(ws.applyOutcome({ kind: 'success', ...base, attempt: 1, workerId: 'w2' })).toMatchObject({
      applied: false,
      reason: expect.stringMatching(/lease held by w1/) as string,
    });
    expect(ws.applyOutcome({ kind: 'success', ...base, attempt: 2, workerId: 'w1' })).toMatchObject({
      applied: false,
    });
    expect(ws.applyOutcome({ kind: 'success', ...base, attempt: 1, workerId: 'w1' }).applied).toBe(true);
    expect(ws.applyOutcome({ kind: 'success', ...base, attempt: 1, workerId: 'w1' })).toMatchObject({
      applied: false,
      reason: 'step is complete',
    });
    expect(ws.changes().attempts).toHaveLength(1);
  });

  it('schedules a retry with the computed backoff, then fails after the last attempt', () => {
    const ws = new TaskWorkspace(snapshot(), () => 0.5);
    const fail = (attempt: number, at: number) =>
      ws.applyOutcome({
        kind: 'failure',
        taskId: 'task-1',
        stepId: 1,
        attempt,
        workerId: 'w1',
        startedAt: at,
        finishedAt: at + 5,
        failure: { message: 'boom', errorType: 'Error', retryable: true },
      });
    let now = 1000;
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect(ws.claim(1, 'w1', now + 5000, now)).toBe(true);
      fail(attempt, now);
      const step = ws.stepById(1);
      if (attempt < 5) {
        expect(step?.status).toBe('waiting_for_retry');
        expect(step?.readyAt).toBe(now + 5 + Math.min(10, 2 ** (attempt - 1)) * 1000);
        now = step?.readyAt ?? now;
      } else {
        expect(step?.status).toBe('error');
      }
    }
    expect(ws.task.status).toBe('error');
    expect(
      ws
        .changes()
        .events.map((e) => e.name)
        .slice(-4),
    ).toEqual(['step.failed', 'step.max_retries_reached', 'step.blocked', 'task.failed']);
  });
});
