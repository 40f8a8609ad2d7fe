/**
 * The store contract, driven through the port itself (no engine, no clock: every instant is given): what
 * both adapters must do alike. Runs on SQLite and, in the `postgres` project, on PostgreSQL. Two stores
 * opened on one database stand for two worker processes, so each one's snapshot cache is exercised
 * against the other's commits.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PostgresStore, SqliteStore } from '../src/index.js';
import { buildNewTask } from '../src/core/new-task.js';
import type { StepOutcome } from '../src/core/outcomes.js';
import type { TaskCreatedDraft, TaskSnapshot } from '../src/core/records.js';
import type { TaskTemplate } from '../src/core/template.js';
import type { ClaimSpec, CycleInput, TaskStore } from '../src/store/port.js';
import { uuidv7 } from '../src/runtime/ids.js';
import { onCleanup, storeKind, tempDir, testDatabase } from './support/harness.js';

/** Backoff without jitter: a failed attempt is ready again exactly `baseSeconds` later. */
const TEMPLATE: TaskTemplate = {
  namespace: 'contract',
  name: 'chain',
  version: '1.0.0',
  steps: [
    { name: 'a', handler: 'work', dependsOn: [], handlerConfig: {}, retry: retry(3) },
    { name: 'b', handler: 'work', dependsOn: ['a'], handlerConfig: {}, retry: retry(3) },
  ],
};

function retry(maxAttempts: number) {
  return {
    retryable: true,
    maxAttempts,
    backoff: { baseSeconds: 2, multiplier: 1, maxSeconds: 2, jitter: 0 },
  };
}

/** Two handles on one fresh database (two processes, as far as the stores can tell). */
async function openPair(): Promise<[TaskStore, TaskStore]> {
  const open = async (): Promise<TaskStore> => {
    const store =
      storeKind() === 'sqlite'
        ? SqliteStore.open({ path: db, random: () => 0.5 })
        : await PostgresStore.open({ url: db, migrate: true, random: () => 0.5 });
    onCleanup(() => store.close());
    return store;
  };
  const db = storeKind() === 'sqlite' ? join(tempDir(), 'contract.db') : testDatabase();
  const first = await open();
  return [first, await open()];
}

function draft(createdAt: number, idempotencyKey: string | null = null): TaskCreatedDraft {
  return buildNewTask(TEMPLATE, {
    id: uuidv7(createdAt),
    context: { order: createdAt },
    correlationId: `corr-${createdAt}`,
    idempotencyKey,
    tags: ['contract'],
    now: createdAt,
  });
}

const claim = (limit: number, extra: Partial<ClaimSpec> = {}): ClaimSpec => ({
  limit,
  leaseMs: 1_000,
  ...extra,
});

function cycle(store: TaskStore, input: Partial<CycleInput> & { workerId: string; now: number }) {
  return store.cycle({ outcomes: [], claim: null, recoverExpiredLeases: false, ...input });
}

function success(taskId: string, stepId: number, attempt: number, workerId: string, at: number): StepOutcome {
  return {
    kind: 'success',
    taskId,
    stepId,
    attempt,
    workerId,
    startedAt: at - 10,
    finishedAt: at,
    results: { at },
  };
}

function failure(taskId: string, stepId: number, attempt: number, workerId: string, at: number): StepOutcome {
  const f = { message: 'boom', errorType: 'Boom', retryable: true };
  return {
    kind: 'failure',
    taskId,
    stepId,
    attempt,
    workerId,
    startedAt: at - 10,
    finishedAt: at,
    failure: f,
  };
}

async function snapshot(store: TaskStore, taskId: string): Promise<TaskSnapshot> {
  const snap = await store.getTask(taskId);
  if (!snap) throw new Error(`task ${taskId} not found`);
  return snap;
}

const step = (snap: TaskSnapshot, name: string) => snap.steps.find((s) => s.name === name)!;

describe(`store contract (${storeKind()})`, () => {
  it('creates tasks with their steps, and an idempotency key already used returns the first task', async () => {
    const [store] = await openPair();
    const first = draft(1_000, 'key-1');
    const again = draft(2_000, 'key-1');
    const other = draft(3_000);
    const created = await store.createTasks([first, other]);
    expect(created.map((c) => [c.task.id, c.created])).toEqual([
      [first.task.id, true],
      [other.task.id, true],
    ]);
    expect(created[0]!.events.map((e) => e.name)).toEqual(['task.created']);
    const [dup] = await store.createTasks([again]);
    expect(dup).toMatchObject({ created: false, events: [], task: { id: first.task.id } });
    expect(await store.getTask(again.task.id)).toBeNull();

    const snap = await snapshot(store, first.task.id);
    expect(snap.task).toMatchObject({ status: 'pending', context: { order: 1_000 }, tags: ['contract'] });
    expect(snap.steps.map((s) => [s.name, s.status, s.readyAt, s.dependsOn])).toEqual([
      ['a', 'pending', 1_000, []],
      ['b', 'pending', null, ['a']],
    ]);
    expect(new Set(snap.steps.map((s) => s.id)).size).toBe(2);
    expect(await store.countTasks({})).toBe(2);
    expect((await store.listTasks({ limit: 1 })).tasks.map((t) => t.id)).toEqual([other.task.id]);
    // A listed task's context is read on demand, and is the same frozen value a snapshot gives,
    // through a spread and through JSON alike.
    const listed = (await store.listTasks({})).tasks.find((t) => t.id === first.task.id);
    expect(listed?.context).toEqual({ order: 1_000 });
    expect(Object.isFrozen(listed?.context)).toBe(true);
    expect(listed?.context).toBe(listed?.context);
    expect({ ...listed }).toEqual(snap.task);
    expect(JSON.parse(JSON.stringify(listed))).toEqual(JSON.parse(JSON.stringify(snap.task)));
    expect(Object.keys(listed ?? {})).toEqual(Object.keys(snap.task));
    expect((await store.getTransitions(first.task.id)).map((t) => t.toState)).toEqual(['pending']);
  });

  it('claims ready steps in ready order, each once, only for the handlers asked for', async () => {
    const [one, two] = await openPair();
    const older = draft(1_000);
    const newer = draft(2_000);
    await one.createTasks([newer, older]);

    const nobody = await cycle(one, {
      workerId: 'w1',
      now: 5_000,
      claim: claim(5, { handlers: new Set(['x']) }),
    });
    expect(nobody.claimed).toEqual([]);

    const first = await cycle(one, { workerId: 'w1', now: 5_000, claim: claim(1) });
    expect(first.claimed.map((c) => [c.task.id, c.step.name])).toEqual([[older.task.id, 'a']]);
    expect(first.touched).toEqual([older.task.id]);
    const second = await cycle(two, { workerId: 'w2', now: 5_000, claim: claim(5) });
    expect(second.claimed.map((c) => [c.task.id, c.step.name])).toEqual([[newer.task.id, 'a']]);
    expect((await cycle(one, { workerId: 'w1', now: 5_000, claim: claim(5) })).claimed).toEqual([]);

    const a = step(await snapshot(two, older.task.id), 'a');
    expect(a).toMatchObject({ status: 'in_progress', attempts: 1, leaseOwner: 'w1', leaseExpiresAt: 6_000 });
    expect(a.readyAt).toBeNull();
    expect((await snapshot(one, older.task.id)).task.status).toBe('in_progress');
    expect(second.nextReadyAt).toBeNull();
  });

  it('writes outcomes: results, attempts and transitions, and the dependants become ready', async () => {
    const [store] = await openPair();
    const d = draft(1_000);
    await store.createTasks([d]);
    const [claimed] = (await cycle(store, { workerId: 'w1', now: 2_000, claim: claim(5) })).claimed;
    const a = claimed!.step;

    // The outcome and the claim of the step it made ready, in one cycle.
    const done = await cycle(store, {
      workerId: 'w1',
      now: 3_000,
      outcomes: [success(d.task.id, a.id, 1, 'w1', 3_000)],
      claim: claim(5),
    });
    expect(done.applied.map((x) => x.result)).toEqual([{ applied: true }]);
    expect(done.claimed.map((c) => c.step.name)).toEqual(['b']);
    expect(done.events.map((e) => e.name)).toContain('step.completed');
    const b = done.claimed[0]!.step;

    const snap = await snapshot(store, d.task.id);
    expect(step(snap, 'a')).toMatchObject({ status: 'complete', results: { at: 3_000 }, leaseOwner: null });
    expect(step(snap, 'b')).toMatchObject({ status: 'in_progress', leaseOwner: 'w1' });
    expect(await store.getAttempts(d.task.id)).toEqual([
      expect.objectContaining({
        stepName: 'a',
        attempt: 1,
        outcome: 'complete',
        workerId: 'w1',
        durationMs: 10,
      }),
    ]);

    const last = await cycle(store, {
      workerId: 'w1',
      now: 4_000,
      outcomes: [success(d.task.id, b.id, 1, 'w1', 4_000)],
    });
    expect(last.events.map((e) => e.name)).toContain('task.completed');
    expect((await snapshot(store, d.task.id)).task).toMatchObject({ status: 'complete', finishedAt: 4_000 });
    const steps = (await store.getTransitions(d.task.id))
      .filter((t) => t.stepName === 'b')
      .map((t) => t.toState);
    expect(steps).toEqual(['in_progress', 'complete']);
  });

  it('moves the activity mark on every recorded change, whichever handle made it, and on nothing else', async () => {
    const [store, other] = await openPair();
    const d = draft(1_000);
    const start = await store.activityMark();
    await store.createTasks([d]);
    const created = await other.activityMark();
    expect(created).toBeGreaterThan(start);
    // Reads, an empty cycle and a heartbeat record no change.
    await store.getTask(d.task.id);
    await cycle(store, { workerId: 'w1', now: 1_500 });
    await store.heartbeat('w1', [], 2_000);
    expect(await store.activityMark()).toBe(created);
    const [claimed] = (await cycle(other, { workerId: 'w2', now: 2_000, claim: claim(5) })).claimed;
    const claimedMark = await store.activityMark();
    expect(claimedMark).toBeGreaterThan(created);
    await cycle(other, {
      workerId: 'w2',
      now: 3_000,
      outcomes: [success(d.task.id, claimed!.step.id, 1, 'w2', 3_000)],
    });
    expect(await store.activityMark()).toBeGreaterThan(claimedMark);
  });

  it('reports the next ready time of a retry and claims it no earlier', async () => {
    const [store] = await openPair();
    const d = draft(1_000);
    await store.createTasks([d]);
    const a = (await cycle(store, { workerId: 'w1', now: 2_000, claim: claim(5) })).claimed[0]!.step;

    const failed = await cycle(store, {
      workerId: 'w1',
      now: 3_000,
      outcomes: [failure(d.task.id, a.id, 1, 'w1', 3_000)],
      claim: claim(5),
    });
    expect(failed.claimed).toEqual([]);
    expect(failed.nextReadyAt).toBe(5_000);
    expect(step(await snapshot(store, d.task.id), 'a')).toMatchObject({
      status: 'waiting_for_retry',
      readyAt: 5_000,
      errorMessage: 'boom',
      errorType: 'Boom',
    });

    const early = await cycle(store, { workerId: 'w2', now: 4_999, claim: claim(5) });
    expect(early.claimed).toEqual([]);
    expect(early.nextReadyAt).toBe(5_000);
    const onTime = await cycle(store, { workerId: 'w2', now: 5_000, claim: claim(5) });
    expect(onTime.claimed.map((c) => [c.step.name, c.step.attempts, c.step.leaseOwner])).toEqual([
      ['a', 2, 'w2'],
    ]);
  });

  it('fences a stale worker: once its lease was recovered elsewhere, its completion and heartbeat are refused', async () => {
    const [stale, rescuer] = await openPair();
    const d = draft(1_000);
    await stale.createTasks([d]);
    const a = (await cycle(stale, { workerId: 'w1', now: 2_000, claim: claim(5) })).claimed[0]!.step;
    const lease = { taskId: d.task.id, stepId: a.id, attempt: 1 };

    // Before expiry nothing is recovered; a heartbeat moves the expiry on.
    expect((await cycle(rescuer, { workerId: 'w2', now: 2_500, recoverExpiredLeases: true })).recovered).toBe(
      0,
    );
    expect(await stale.heartbeat('w1', [lease], 3_500)).toEqual([]);
    expect((await cycle(rescuer, { workerId: 'w2', now: 3_200, recoverExpiredLeases: true })).recovered).toBe(
      0,
    );
    expect(await stale.heartbeat('w9', [lease], 9_999)).toEqual([lease]);

    const recovery = await cycle(rescuer, { workerId: 'w2', now: 4_000, recoverExpiredLeases: true });
    expect(recovery.recovered).toBe(1);
    expect(recovery.touched).toEqual([d.task.id]);
    expect(step(await snapshot(rescuer, d.task.id), 'a')).toMatchObject({
      status: 'waiting_for_retry',
      errorType: 'worker_lost',
      leaseOwner: null,
      readyAt: 6_000,
    });

    // The stale worker comes back: its process still caches the task as it claimed it.
    expect(await stale.heartbeat('w1', [lease], 9_000)).toEqual([lease]);
    const late = await cycle(stale, {
      workerId: 'w1',
      now: 4_100,
      outcomes: [success(d.task.id, a.id, 1, 'w1', 4_100)],
    });
    expect(late.applied.map((x) => x.result.applied)).toEqual([false]);
    expect(step(await snapshot(rescuer, d.task.id), 'a')).toMatchObject({
      status: 'waiting_for_retry',
      results: null,
    });

    const retried = await cycle(rescuer, { workerId: 'w2', now: 6_000, claim: claim(5) });
    expect(retried.claimed.map((c) => [c.step.name, c.step.attempts])).toEqual([['a', 2]]);
    const ok = await cycle(rescuer, {
      workerId: 'w2',
      now: 6_500,
      outcomes: [success(d.task.id, a.id, 2, 'w2', 6_500)],
    });
    expect(ok.applied.map((x) => x.result.applied)).toEqual([true]);
    expect(
      (await stale.getAttempts(d.task.id)).map((x) => [x.attempt, x.outcome, x.errorType, x.workerId]),
    ).toEqual([
      [1, 'retry', 'worker_lost', 'w1'],
      [2, 'complete', null, 'w2'],
    ]);
  });

  it('runs an operator action in a transaction and refuses an unknown task', async () => {
    const [one, two] = await openPair();
    const d = draft(1_000);
    await one.createTasks([d]);
    const { snapshot: cancelled, events } = await two.mutateTask(d.task.id, (ws) => ws.cancel(5_000, 'stop'));
    expect(cancelled.task.status).toBe('cancelled');
    expect(events.map((e) => e.name)).toContain('task.cancelled');
    // The other handle sees the change, whatever it had cached.
    expect((await cycle(one, { workerId: 'w1', now: 6_000, claim: claim(5) })).claimed).toEqual([]);
    expect((await snapshot(one, d.task.id)).task.status).toBe('cancelled');
    await expect(one.mutateTask(uuidv7(1), () => {})).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
  });
});
