/** Operator actions (cancel, retry, resolve), idempotent creation, template versions. */
import { describe, expect, it } from 'vitest';
import { PermanentError, TaskerError, type StepHandlerContext } from '../src/index.js';
import { FAST_RETRY, nextEvent, signal, startEngine } from './support/harness.js';

const chain = `
namespace: ops
name: chain
version: 1.0.0
steps:
  - { name: a, handler: a, ${FAST_RETRY} }
  - { name: b, handler: b, depends_on: [a], ${FAST_RETRY} }
  - { name: c, handler: c, depends_on: [b] }
`;

describe('operator actions', () => {
  it('cancels a running task: the running attempt is aborted, nothing after it runs', async () => {
    const aborted = signal();
    let cRan = false;
    const { tasker, events } = await startEngine(chain, {
      a: () => 'a',
      b: ({ signal }) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            aborted.fire();
            resolve('late');
          });
        }),
      c: () => {
        cRan = true;
      },
    });
    const bStarted = nextEvent(tasker, 'step.started', (e) => e.payload.step_name === 'b');
    const { task } = await tasker.createTask({ namespace: 'ops', name: 'chain' });
    await bStarted;
    const snap = await tasker.cancelTask(task.id, 'customer asked');
    expect(snap.task.status).toBe('cancelled');
    // The running attempt is told to stop, and its late end is written before the worker is idle.
    await aborted.promise;
    await tasker.whenIdle();
    expect(cRan).toBe(false);
    const d = await tasker.getTask(task.id);
    expect(d.steps.map((s) => [s.name, s.status])).toEqual([
      ['a', 'complete'],
      ['b', 'cancelled'],
      ['c', 'cancelled'],
    ]);
    expect(d.attempts.find((a) => a.stepName === 'b')?.outcome).toBe('cancelled');
    await tasker.events.drain();
    expect(events.filter((e) => e.name === 'task.cancelled')).toHaveLength(1);
    // The late result of the aborted attempt was discarded by the fence, not recorded.
    expect(d.steps.find((s) => s.name === 'b')?.results).toBeNull();
    await expect(tasker.cancelTask(task.id)).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
  });

  it('retries a failed task: failed steps get a fresh attempt budget and the task completes', async () => {
    let healthy = false;
    const { tasker, events } = await startEngine(chain, {
      a: () => 'a',
      b: () => {
        if (!healthy) throw new Error('dependency down');
        return 'b';
      },
      c: () => 'c',
    });
    const { task } = await tasker.createTask({ namespace: 'ops', name: 'chain' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('error');
    healthy = true;
    await tasker.retryTask(task.id);
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('complete');
    const d = await tasker.getTask(task.id);
    const b = d.steps.find((s) => s.name === 'b');
    expect(b?.attempts).toBe(4);
    expect(b?.maxAttempts).toBe(6);
    expect(d.attempts.filter((x) => x.stepName === 'a')).toHaveLength(1); // a is not run again
    await tasker.events.drain();
    expect(events.filter((e) => e.name === 'task.retry_requested')).toHaveLength(1);
    const transitions = await tasker.getTransitions(task.id);
    const taskPath = transitions.filter((t) => t.stepName === null).map((t) => t.toState);
    expect(taskPath).toEqual(['pending', 'in_progress', 'error', 'pending', 'in_progress', 'complete']);
  });

  it('refuses to retry a task that has not failed', async () => {
    const { tasker } = await startEngine(chain, { a: () => 1, b: () => 2, c: () => 3 }, { start: false });
    const { task } = await tasker.createTask({ namespace: 'ops', name: 'chain' });
    const err = await tasker.retryTask(task.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskerError);
    expect((err as TaskerError).code).toBe('ILLEGAL_TRANSITION');
    expect((err as TaskerError).message).toMatch(/cannot go from pending to pending/);
  });

  it('resolves a failed step by hand so its dependants run with the given results', async () => {
    let cSaw: unknown;
    const { tasker, events } = await startEngine(chain, {
      a: () => 'a',
      b: () => {
        throw new PermanentError('needs a human');
      },
      c: ({ sequence }) => {
        cSaw = sequence.findStepByName('b')?.results;
        return 'c';
      },
    });
    const { task } = await tasker.createTask({ namespace: 'ops', name: 'chain' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('error');
    await tasker.resolveStep(task.id, 'b', { approved_by: 'ops' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('complete');
    expect(cSaw).toEqual({ approved_by: 'ops' });
    const d = await tasker.getTask(task.id);
    expect(d.steps.map((s) => s.status)).toEqual(['complete', 'resolved_manually', 'complete']);
    await tasker.events.drain();
    expect(events.filter((e) => e.name === 'step.resolved_manually')).toHaveLength(1);
  });

  it('marks the task resolved_manually when resolving the last failed step finishes it', async () => {
    const { tasker } = await startEngine(chain, {
      a: () => 'a',
      b: () => 'b',
      c: () => {
        throw new PermanentError('nope');
      },
    });
    const { task } = await tasker.createTask({ namespace: 'ops', name: 'chain' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('error');
    const snap = await tasker.resolveStep(task.id, 'c', null);
    expect(snap.task.status).toBe('resolved_manually');
  });

  it('completes a running task when its last outstanding step is resolved by hand', async () => {
    const yaml = `
namespace: ops
name: stuck
version: 1.0.0
steps:
  - { name: a, handler: ok }
  - { name: b, handler: down, depends_on: [a], retry: { max_attempts: 5, backoff: { base_seconds: 60, jitter: 0 } } }
`;
    const { tasker, events } = await startEngine(yaml, {
      ok: () => 'ok',
      down: () => {
        throw new Error('upstream down');
      },
    });
    const bRetrying = nextEvent(tasker, 'step.retry_scheduled', (e) => e.payload.step_name === 'b');
    const { task } = await tasker.createTask({ namespace: 'ops', name: 'stuck' });
    await bRetrying;
    const snap = await tasker.resolveStep(task.id, 'b', { manual: true });
    expect(snap.task.status).toBe('complete');
    await tasker.events.drain();
    expect(events.filter((e) => e.name === 'task.completed')).toHaveLength(1);
  });

  it('completes a task whose every step was resolved before any ran', async () => {
    const { tasker } = await startEngine(chain, { a: () => 1, b: () => 2, c: () => 3 }, { start: false });
    const { task } = await tasker.createTask({ namespace: 'ops', name: 'chain' });
    for (const step of ['a', 'b', 'c']) await tasker.resolveStep(task.id, step, step);
    const d = await tasker.getTask(task.id);
    expect(d.task.status).toBe('complete');
    const path = (await tasker.getTransitions(task.id))
      .filter((t) => t.stepName === null)
      .map((t) => t.toState);
    expect(path).toEqual(['pending', 'in_progress', 'complete']);
  });

  it('rejects resolving an unknown step with the list of steps', async () => {
    const { tasker } = await startEngine(chain, { a: () => 1, b: () => 2, c: () => 3 }, { start: false });
    const { task } = await tasker.createTask({ namespace: 'ops', name: 'chain' });
    await expect(tasker.resolveStep(task.id, 'zzz')).rejects.toMatchObject({ code: 'STEP_NOT_FOUND' });
    await expect(tasker.getTask('no-such-task')).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
  });
});

describe('creation', () => {
  it('returns the existing task for a repeated idempotency key', async () => {
    const { tasker } = await startEngine(chain, { a: () => 1, b: () => 2, c: () => 3 }, { start: false });
    const first = await tasker.createTask({ namespace: 'ops', name: 'chain', idempotencyKey: 'order-42' });
    const second = await tasker.createTask({
      namespace: 'ops',
      name: 'chain',
      idempotencyKey: 'order-42',
      context: { other: true },
    });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.task.id).toBe(first.task.id);
    const page = await tasker.listTasks({});
    expect(page.tasks).toHaveLength(1);
  });

  it('picks the latest version unless one is named', async () => {
    const v = (version: string, handler: string) => `
namespace: ops
name: versioned
version: ${version}
steps:
  - { name: only, handler: ${handler} }
`;
    const { tasker } = await startEngine([v('1.9.0', 'old'), v('1.10.0', 'new')], {
      old: () => 'old',
      new: () => 'new',
    });
    const latest = await tasker.createTask({ namespace: 'ops', name: 'versioned' });
    const pinned = await tasker.createTask({ namespace: 'ops', name: 'versioned', version: '1.9.0' });
    expect(latest.task.version).toBe('1.10.0');
    expect(pinned.task.version).toBe('1.9.0');
    await tasker.waitForTask(pinned.task.id, { timeoutMs: 5000 });
    expect((await tasker.getTask(pinned.task.id)).steps[0]?.results).toBe('old');
    await expect(
      tasker.createTask({ namespace: 'ops', name: 'versioned', version: '3.0.0' }),
    ).rejects.toMatchObject({
      code: 'TEMPLATE_NOT_FOUND',
    });
  });

  it('lists tasks with filters and cursor pagination, newest first', async () => {
    const { tasker } = await startEngine(chain, { a: () => 1, b: () => 2, c: () => 3 }, { start: false });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { task } = await tasker.createTask({
        namespace: 'ops',
        name: 'chain',
        correlationId: `journey-${i % 2}`,
        tags: i === 3 ? ['vip'] : [],
      });
      ids.push(task.id);
    }
    const p1 = await tasker.listTasks({ limit: 2 });
    expect(p1.tasks.map((t) => t.id)).toEqual([ids[4], ids[3]]);
    const p2 = await tasker.listTasks({ limit: 2, cursor: p1.nextCursor ?? undefined });
    expect(p2.tasks.map((t) => t.id)).toEqual([ids[2], ids[1]]);
    const p3 = await tasker.listTasks({ limit: 2, cursor: p2.nextCursor ?? undefined });
    expect(p3.tasks.map((t) => t.id)).toEqual([ids[0]]);
    expect(p3.nextCursor).toBeNull();
    expect((await tasker.listTasks({ correlationId: 'journey-1' })).tasks.map((t) => t.id)).toEqual([
      ids[3],
      ids[1],
    ]);
    expect((await tasker.listTasks({ tag: 'vip' })).tasks.map((t) => t.id)).toEqual([ids[3]]);
    expect((await tasker.listTasks({ status: ['complete'] })).tasks).toHaveLength(0);
    expect(
      (await tasker.listTasks({ status: ['pending'], namespace: 'ops', name: 'chain' })).tasks,
    ).toHaveLength(5);
  });

  it("filters by status in the seed's words or the stored ones, and names a word it does not know", async () => {
    const { tasker } = await startEngine(chain, {
      a: (ctx: StepHandlerContext) => {
        if (ctx.task.context.fail === true) throw new PermanentError('no');
        return 'a';
      },
      b: () => 'b',
      c: () => 'c',
    });
    const ok = (await tasker.createTask({ namespace: 'ops', name: 'chain' })).task;
    const bad = (await tasker.createTask({ namespace: 'ops', name: 'chain', context: { fail: true } })).task;
    await tasker.waitForTask(ok.id, { timeoutMs: 5000 });
    await tasker.waitForTask(bad.id, { timeoutMs: 5000 });
    const ids = async (status: Parameters<typeof tasker.listTasks>[0]) =>
      (await tasker.listTasks(status)).tasks.map((t) => t.id);
    expect(await ids({ status: ['completed'] })).toEqual([ok.id]);
    expect(await ids({ status: ['complete'] })).toEqual([ok.id]);
    expect(await ids({ status: ['failed'] })).toEqual([bad.id]);
    expect(await tasker.countTasks({ status: ['failed', 'completed'] })).toBe(2);
    const refused = {
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/status: expected .*completed.*got "done"/),
    };
    await expect(tasker.listTasks({ status: ['done' as never] })).rejects.toMatchObject(refused);
    await expect(tasker.countTasks({ status: ['done' as never] })).rejects.toMatchObject(refused);
  });

  it('filters by creation time (created_after inclusive, created_before exclusive)', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const { tasker } = await startEngine(
      chain,
      { a: () => 1, b: () => 2, c: () => 3 },
      { start: false, now: () => clock },
    );
    const made: Array<{ id: string; at: number }> = [];
    for (let i = 0; i < 4; i++) {
      const { task } = await tasker.createTask({ namespace: 'ops', name: 'chain' });
      made.push({ id: task.id, at: clock });
      clock += 60_000;
    }
    const at = (i: number) => made[i]?.at ?? 0;
    const ids = async (createdAfter?: number, createdBefore?: number) =>
      (await tasker.listTasks({ createdAfter, createdBefore })).tasks.map((t) => t.id);
    expect(await ids(at(1))).toEqual([made[3]?.id, made[2]?.id, made[1]?.id]);
    expect(await ids(undefined, at(2))).toEqual([made[1]?.id, made[0]?.id]);
    expect(await ids(at(1), at(3))).toEqual([made[2]?.id, made[1]?.id]);
    expect(await ids(at(3) + 1)).toEqual([]);
  });

  it('rejects creating a task whose handlers are not all registered, creating nothing', async () => {
    const { tasker } = await startEngine(chain, { a: () => 1, b: () => 2 }, { start: false });
    const err = await tasker.createTask({ namespace: 'ops', name: 'chain' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'HANDLER_NOT_FOUND' });
    expect((err as Error).message).toMatch(/steps\.c\.handler: unknown handler "c"/);
    expect((await tasker.listTasks({})).tasks).toHaveLength(0);
  });

  it('replaces an invalid correlation id with a generated one', async () => {
    const { tasker } = await startEngine(chain, { a: () => 1, b: () => 2, c: () => 3 }, { start: false });
    const good = await tasker.createTask({
      namespace: 'ops',
      name: 'chain',
      correlationId: 'customer-journey-abc123',
    });
    const bad = await tasker.createTask({
      namespace: 'ops',
      name: 'chain',
      correlationId: 'bad id; drop table',
    });
    expect(good.task.correlationId).toBe('customer-journey-abc123');
    expect(bad.task.correlationId).toMatch(/^tsk_[0-9a-z]+_[0-9a-z]{6}$/);
  });
});
