/**
 * The cycle planner, driven directly (no store, no clock): which steps a worker cycle claims and in what
 * order, per-task limits, handler filtering, and the recovery of attempts whose lease expired. Both store
 * adapters hand it snapshots and write what it decided, so these rules hold on both.
 */
import { describe, expect, it } from 'vitest';
import { CyclePlanner, type ClaimRules } from '../src/core/cycle-planner.js';
import { buildNewTask } from '../src/core/new-task.js';
import type { StepRecord, TaskSnapshot } from '../src/core/records.js';
import type { RetryPolicy, TaskTemplate } from '../src/core/template.js';

const NOW = 10_000;
const retry: RetryPolicy = {
  retryable: true,
  maxAttempts: 2,
  backoff: { baseSeconds: 1, multiplier: 2, maxSeconds: 10, jitter: 0 },
};

let nextStepId = 1;

/** A new task of the given steps (name, handler, dependencies), its step ids unique across tasks. */
function task(id: string, steps: Array<[string, string, string[]?]>, createdAt = 1000): TaskSnapshot {
  const template: TaskTemplate = {
    namespace: 'n',
    name: 't',
    version: '1.0.0',
    steps: steps.map(([name, handler, deps]) => ({
      name,
      handler,
      dependsOn: deps ?? [],
      retry,
      handlerConfig: {},
    })),
  };
  const draft = buildNewTask(template, {
    id,
    context: {},
    correlationId: `c-${id}`,
    idempotencyKey: null,
    tags: [],
    now: createdAt,
  });
  return { task: draft.task, steps: draft.steps.map((s): StepRecord => ({ ...s, id: nextStepId++ })) };
}

const planner = () => new CyclePlanner('w1', NOW, () => 0.5, undefined);
const rules = (r: Partial<ClaimRules> = {}): ClaimRules => ({ limit: 10, leaseMs: 30_000, ...r });
const stepOf = (snap: TaskSnapshot, name: string) => snap.steps.find((s) => s.name === name)!;
const claimedNames = (p: CyclePlanner) => p.claimed.map((c) => `${c.task.id}:${c.step.name}`);

/** A snapshot whose `name` step is running on `worker` under a lease until `until`. */
function running(snap: TaskSnapshot, name: string, worker: string, until: number): TaskSnapshot {
  const claimedAt = 2000; // after the task's creation
  const p = new CyclePlanner(worker, claimedAt, () => 0.5, undefined);
  p.add([snap]);
  p.claimCandidates(
    [{ taskId: snap.task.id, stepId: stepOf(snap, name).id }],
    rules({ leaseMs: until - claimedAt }),
  );
  if (p.claimed.length !== 1) throw new Error(`could not start ${name}`);
  const ws = [...p.workspaces()][0]!;
  return { task: ws.task, steps: ws.steps };
}

describe('CyclePlanner', () => {
  it('claims steps this cycle made ready before the adapter’s candidates, in the candidates’ order, up to the limit', () => {
    const a = running(
      task('a', [
        ['first', 'h'],
        ['second', 'h', ['first']],
      ]),
      'first',
      'w1',
      NOW + 1000,
    );
    const b = task('b', [['only', 'h']]);
    const c = task('c', [['only', 'h']]);
    // The adapter's order: the tasks of this cycle's outcomes first, then the candidates' snapshots.
    const p = planner();
    p.add([a]);
    p.applyOutcomes([
      {
        kind: 'success',
        taskId: 'a',
        stepId: stepOf(a, 'first').id,
        attempt: 1,
        workerId: 'w1',
        startedAt: NOW - 10,
        finishedAt: NOW,
        results: 1,
      },
    ]);
    p.claimReadyInMemory(rules({ limit: 2 }));
    expect(p.missing(['b', 'c', 'a'])).toEqual(['b', 'c']);
    p.add([b, c]);
    // c before b: the adapter's order is kept.
    p.claimCandidates(
      [
        { taskId: 'c', stepId: stepOf(c, 'only').id },
        { taskId: 'b', stepId: stepOf(b, 'only').id },
      ],
      rules({ limit: 2 }),
    );
    expect(claimedNames(p)).toEqual(['a:second', 'c:only']);
    expect(p.room(rules({ limit: 2 }))).toBe(0);
    expect(p.claimed[0]!.step).toMatchObject({ status: 'in_progress', leaseOwner: 'w1', attempts: 1 });
    expect(p.claimed[0]!.step.leaseExpiresAt).toBe(NOW + 30_000);
    // b stays ready for another worker.
    expect(stepOf(b, 'only').status).toBe('pending');
  });

  it('keeps to the per-task limit, counting steps in flight less those whose outcome this cycle records', () => {
    const t = task('t', [
      ['a', 'h'],
      ['b', 'h'],
      ['c', 'h'],
    ]);
    const refs = t.steps.map((s) => ({ taskId: 't', stepId: s.id }));
    const full = planner();
    full.add([t]);
    full.claimCandidates(refs, rules({ perTaskLimit: 2, inFlightByTask: new Map([['t', 2]]) }));
    expect(full.claimed).toEqual([]);

    const one = planner();
    one.add([t]);
    one.claimCandidates(refs, rules({ perTaskLimit: 2, inFlightByTask: new Map([['t', 1]]) }));
    expect(claimedNames(one)).toEqual(['t:a']);

    // An outcome recorded in this cycle frees its slot (even one the planner could not apply).
    const freed = planner();
    freed.add([t]);
    freed.applyOutcomes([
      {
        kind: 'success',
        taskId: 't',
        stepId: 999,
        attempt: 1,
        workerId: 'w1',
        startedAt: NOW - 10,
        finishedAt: NOW,
        results: null,
      },
    ]);
    freed.claimCandidates(refs, rules({ perTaskLimit: 2, inFlightByTask: new Map([['t', 2]]) }));
    expect(claimedNames(freed)).toEqual(['t:a']);
  });

  it('claims only steps whose handler this worker has', () => {
    const t = task('t', [
      ['charge', 'payments'],
      ['ship', 'shipping'],
    ]);
    const p = planner();
    p.add([t]);
    p.claimCandidates(
      t.steps.map((s) => ({ taskId: 't', stepId: s.id })),
      rules({ handlers: new Set(['shipping']) }),
    );
    expect(claimedNames(p)).toEqual(['t:ship']);
  });

  it('records an expired lease as a lost attempt (retried per policy), and leaves live leases and finished steps alone', () => {
    const expired = running(task('x', [['s', 'h']]), 's', 'w9', NOW - 1);
    const live = running(task('y', [['s', 'h']]), 's', 'w9', NOW + 5000);
    const p = planner();
    p.add([expired, live]);
    p.recover([
      { taskId: 'x', stepId: stepOf(expired, 's').id },
      { taskId: 'y', stepId: stepOf(live, 's').id },
      { taskId: 'nowhere', stepId: 1 },
    ]);
    expect(p.recovered).toBe(1);
    const [x, y] = [...p.workspaces()];
    const lost = x!.steps[0]!;
    expect(lost).toMatchObject({ status: 'waiting_for_retry', errorType: 'worker_lost', leaseOwner: null });
    expect(lost.errorMessage).toMatch(/^worker w9 stopped renewing its lease/);
    expect(lost.readyAt).toBe(NOW + 1000); // the first backoff, 1 s
    expect(y!.steps[0]).toMatchObject({ status: 'in_progress', leaseOwner: 'w9' });
    // A second recovery of the same attempt changes nothing.
    p.recover([{ taskId: 'x', stepId: lost.id }]);
    expect(p.recovered).toBe(1);
  });

  it('reports an outcome for a task it does not hold instead of applying it, and names the tasks it lacks', () => {
    const t = task('t', [['a', 'h']]);
    const p = planner();
    p.add([t]);
    expect(p.missing(['t', 'u', 'u', 'v'])).toEqual(['u', 'v']);
    p.applyOutcomes([
      {
        kind: 'success',
        taskId: 'u',
        stepId: 1,
        attempt: 1,
        workerId: 'w1',
        startedAt: NOW - 10,
        finishedAt: NOW,
        results: null,
      },
    ]);
    expect(p.applied[0]!.result).toEqual({ applied: false, reason: 'task not found' });
  });

  it('lets go of its workspaces when released, keeping what the cycle decided', () => {
    const t = task('r', [['a', 'h']]);
    const p = planner();
    p.add([t]);
    p.claimCandidates([{ taskId: 'r', stepId: stepOf(t, 'a').id }], rules());
    p.release();
    expect([...p.workspaces()]).toEqual([]);
    expect(p.has('r')).toBe(false);
    expect(claimedNames(p)).toEqual(['r:a']);
  });
});
