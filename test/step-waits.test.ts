/** "Why is this step not done yet?": every reason, from hand-built task states (pure core). */
import { describe, expect, it } from 'vitest';
import { buildNewTask } from '../src/core/new-task.js';
import type { StepRecord } from '../src/core/records.js';
import type { TaskState } from '../src/core/states.js';
import { explainWaits, type LiveWorker, type StepWait, type WaitContext } from '../src/core/step-waits.js';
import { describeTask } from '../src/core/task-description.js';
import { DEFAULT_BACKOFF, type TaskTemplate } from '../src/core/template.js';

const NOW = 1_800_000_000_000;

/** a → b → c, and d independent; handlers named after their steps. */
const template: TaskTemplate = {
  namespace: 'shop',
  name: 'order',
  version: '1.0.0',
  steps: ['a', 'b', 'c', 'd'].map((name, i) => ({
    name,
    handler: `${name}_h`,
    dependsOn: name === 'b' ? ['a'] : name === 'c' ? ['b'] : [],
    retry: { retryable: true, maxAttempts: 3, backoff: { ...DEFAULT_BACKOFF } },
    timeoutSeconds: i === 0 ? 3 : undefined,
    handlerConfig: {},
  })),
};

function task(taskStatus: TaskState, over: Record<string, Partial<StepRecord>>) {
  const draft = buildNewTask(template, {
    id: '01a00000-0000-7000-8000-000000000001',
    context: {},
    correlationId: 'c1',
    idempotencyKey: null,
    tags: [],
    now: NOW - 60_000,
  });
  const steps = draft.steps.map((s, i) => ({ ...s, id: i + 1, readyAt: null, ...over[s.name] }));
  return describeTask({ task: { ...draft.task, status: taskStatus }, steps }, []);
}

const worker = (id: string, handlers: string[], concurrency: number, inFlight: number): LiveWorker => ({
  id,
  handlers,
  concurrency,
  inFlight,
});

function ctx(over: Partial<WaitContext> = {}): WaitContext {
  return {
    now: NOW,
    liveWorkers: [worker('w1', ['a_h', 'b_h', 'c_h', 'd_h'], 4, 1)],
    goneWorkers: new Set(),
    backlog: 7,
    aheadOf: (at) => (at < NOW - 1000 ? 2 : 5),
    ...over,
  };
}

function waitOf(waits: Map<string, StepWait>, step: string): StepWait {
  const w = waits.get(step);
  if (!w) throw new Error(`no wait for ${step}`);
  return w;
}

describe('explainWaits', () => {
  it('gives no reason for finished steps, and one for every other step', () => {
    const d = task('in_progress', {
      a: { status: 'complete', attempts: 1 },
      b: { status: 'resolved_manually' },
      c: { status: 'pending', readyAt: NOW - 10 },
      d: { status: 'pending', readyAt: NOW - 10 },
    });
    const waits = explainWaits(d, ctx());
    expect([...waits.keys()].sort()).toEqual(['c', 'd']);
  });

  it('a running step names its worker, how long it has run, its lease and its timeout', () => {
    const d = task('in_progress', {
      a: {
        status: 'in_progress',
        attempts: 2,
        leaseOwner: 'w1',
        leaseExpiresAt: NOW + 25_000,
        startedAt: NOW - 2100,
      },
    });
    const w = waitOf(explainWaits(d, ctx()), 'a');
    expect(w).toMatchObject({
      reason: 'running',
      workerId: 'w1',
      runningMs: 2100,
      leaseExpiresAt: NOW + 25_000,
      timeoutMs: 3000,
      workerAlive: true,
    });
    expect(w.message).toContain('running attempt 2 of 3 on worker w1 for 2.1 s');
    expect(w.message).toContain('times out at 3 s');
  });

  it('a running step whose worker the registry saw stop says the attempt will be recovered', () => {
    const d = task('in_progress', {
      a: {
        status: 'in_progress',
        attempts: 1,
        leaseOwner: 'gone',
        leaseExpiresAt: NOW + 5000,
        startedAt: NOW,
      },
    });
    const known = explainWaits(d, ctx({ goneWorkers: new Set(['gone']) }));
    expect(waitOf(known, 'a')).toMatchObject({ reason: 'running', workerAlive: false });
    expect(waitOf(known, 'a').message).toContain('recovered when the lease expires');
    const unknown = explainWaits(d, ctx());
    expect(waitOf(unknown, 'a')).toMatchObject({ reason: 'running', workerAlive: null });
  });

  it('an expired lease is reported as waiting for recovery', () => {
    const d = task('in_progress', {
      a: {
        status: 'in_progress',
        attempts: 1,
        leaseOwner: 'w9',
        leaseExpiresAt: NOW - 4000,
        startedAt: NOW - 40_000,
      },
    });
    const w = waitOf(explainWaits(d, ctx()), 'a');
    expect(w).toMatchObject({ reason: 'lease_expired', workerId: 'w9', expiredAt: NOW - 4000 });
    expect(w.message).toContain('worker_lost');
  });

  it('a step in backoff says until when, which attempt, and the last error', () => {
    const d = task('in_progress', {
      a: {
        status: 'waiting_for_retry',
        attempts: 1,
        readyAt: NOW + 1900,
        errorType: 'RetryableError',
        errorMessage: 'gateway busy',
      },
    });
    const w = waitOf(explainWaits(d, ctx()), 'a');
    expect(w).toMatchObject({
      reason: 'retry_backoff',
      until: NOW + 1900,
      attempt: 1,
      maxAttempts: 3,
      lastErrorType: 'RetryableError',
      lastErrorMessage: 'gateway busy',
    });
    expect(w.message).toContain('(in 1.9 s)');
  });

  it('a step whose backoff is over is ready like any other', () => {
    const d = task('in_progress', {
      a: { status: 'waiting_for_retry', attempts: 1, readyAt: NOW - 5, errorType: 'RetryableError' },
    });
    expect(waitOf(explainWaits(d, ctx()), 'a').reason).toBe('queued');
  });

  it('a dependant names each unfinished dependency and that dependency’s own reason', () => {
    const d = task('in_progress', {
      a: { status: 'waiting_for_retry', attempts: 1, readyAt: NOW + 500 },
    });
    const waits = explainWaits(d, ctx());
    const b = waitOf(waits, 'b');
    expect(b).toMatchObject({
      reason: 'waiting_for_dependency',
      dependencies: [{ step: 'a', status: 'waiting_for_retry', reason: 'retry_backoff' }],
    });
    expect(b.message).toBe('waiting for a (in retry backoff)');
    // Two levels down: c waits for b, which itself waits.
    expect(waitOf(waits, 'c')).toMatchObject({
      dependencies: [{ step: 'b', status: 'pending', reason: 'waiting_for_dependency' }],
    });
  });

  it('a ready step with no live worker at all, or none with its handler, says so', () => {
    const d = task('pending', { d: { readyAt: NOW - 3000 } });
    const none = waitOf(explainWaits(d, ctx({ liveWorkers: [] })), 'd');
    expect(none).toMatchObject({ reason: 'no_worker_for_handler', handler: 'd_h', liveWorkers: 0 });
    expect(none.message).toContain('no registered worker is live');
    const others = waitOf(explainWaits(d, ctx({ liveWorkers: [worker('w2', ['a_h'], 8, 0)] })), 'd');
    expect(others).toMatchObject({ reason: 'no_worker_for_handler', liveWorkers: 1 });
    expect(others.message).toContain('none of the 1 live worker has handler "d_h"');
  });

  it('a ready step counts only the slots of workers that can run it: all busy, or some free', () => {
    const d = task('pending', { d: { readyAt: NOW - 3000 } });
    const busy = ctx({
      liveWorkers: [worker('w1', ['d_h'], 4, 4), worker('w2', ['d_h'], 2, 2), worker('w3', ['a_h'], 10, 0)],
    });
    const full = waitOf(explainWaits(d, busy), 'd');
    expect(full).toMatchObject({
      reason: 'no_free_slot',
      readySince: NOW - 3000,
      slotsInUse: 6,
      slotsTotal: 6,
      liveWorkers: 2,
      backlog: 7,
      ahead: 2,
    });
    expect(full.message).toContain('all 6 slots of the 2 workers with handler "d_h" are busy');
    // Counts at the store's cap read as "at least".
    const huge = waitOf(explainWaits(d, { ...busy, backlog: 10_000, countCap: 10_000 }), 'd');
    expect(huge.message).toContain('10000+ steps ready in all');
    const free = waitOf(explainWaits(d, ctx({ liveWorkers: [worker('w1', ['d_h'], 4, 1)] })), 'd');
    expect(free).toMatchObject({ reason: 'queued', slotsInUse: 1, slotsTotal: 4 });
  });

  it('a failed step needs an operator; steps below it are blocked by it', () => {
    const d = task('error', {
      a: { status: 'error', attempts: 3, errorType: 'timeout', errorMessage: 'no answer in 3 s' },
      d: { status: 'complete', attempts: 1 },
    });
    const waits = explainWaits(d, ctx());
    expect(waitOf(waits, 'a')).toMatchObject({ reason: 'failed', errorType: 'timeout', attempts: 3 });
    expect(waitOf(waits, 'a').message).toContain(
      'failed for good after 3 of 3 attempts (timeout: no answer in 3 s)',
    );
    expect(waitOf(waits, 'b')).toMatchObject({ reason: 'blocked_by_failure', failedSteps: ['a'] });
    expect(waitOf(waits, 'c')).toMatchObject({ reason: 'blocked_by_failure', failedSteps: ['a'] });
  });

  it('a step whose dependencies were resolved while its task is failed waits for the task, not a dependency', () => {
    const d = task('error', {
      a: { status: 'resolved_manually' },
      d: { status: 'error', attempts: 3, errorType: 'Error', errorMessage: 'no' },
    });
    const b = waitOf(explainWaits(d, ctx()), 'b');
    expect(b).toMatchObject({ reason: 'blocked_by_failure', failedSteps: ['d'] });
    expect(b.message).toContain('its task failed (d failed)');
  });

  it('steps of a cancelled task were cancelled with it', () => {
    const d = task('cancelled', {
      a: { status: 'complete' },
      b: { status: 'cancelled' },
      c: { status: 'cancelled' },
      d: { status: 'cancelled' },
    });
    const waits = explainWaits(d, ctx());
    expect([...waits.values()].map((w) => w.reason)).toEqual([
      'task_cancelled',
      'task_cancelled',
      'task_cancelled',
    ]);
  });
});
