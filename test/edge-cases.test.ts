/** Edge cases found in review: each test fails on the behaviour it guards against. */
import { describe, expect, it } from 'vitest';
import { createTasker, EventBus, PermanentError, type TaskerEvent } from '../src/index.js';
import { nextEvent, sleep, startEngine, templatesFromYaml, testDatabase } from './support/harness.js';

describe('edge cases', () => {
  it('stores a NUL character in a context, a result, an error and a reason (as U+FFFD where PostgreSQL needs it)', async () => {
    // PostgreSQL text and jsonb refuse U+0000: before, a handler error carrying one failed every write of
    // the attempt, so its task never finished there.
    const yaml = `
namespace: e
name: nul
version: 1.0.0
steps:
  - { name: echo, handler: echo }
  - { name: fail, handler: fail, depends_on: [echo] }
`;
    const { tasker } = await startEngine([yaml], {
      echo: ({ task }) => ({ got: task.context.text }),
      fail: () => {
        throw new PermanentError('card \u0000 declined');
      },
    });
    const { task } = await tasker.createTask({ namespace: 'e', name: 'nul', context: { text: 'a\u0000b' } });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('error');
    await tasker.cancelTask(task.id, 'why \u0000 not');
    const d = await tasker.getTask(task.id);
    // JSON (contexts, results) is written with U+FFFD on both stores, so both hold the same values; plain
    // text (an error message) keeps the character on SQLite, and gets the replacement on PostgreSQL.
    expect(d.task.context.text).toBe('a\ufffdb');
    expect((d.steps[0]!.results as { got: string }).got).toBe('a\ufffdb');
    const nul = process.env.TASKER_TEST_STORE === 'postgres' ? '\ufffd' : '\u0000';
    expect(d.attempts.find((a) => a.stepName === 'fail')!.errorMessage).toBe(`card ${nul} declined`);
    expect(d.task.status).toBe('cancelled');
  });

  it('stores a lone surrogate in a context and a result as U+FFFD on both stores, and its failure', async () => {
    // JSON.stringify writes an unpaired surrogate as a `\ud800` escape, which PostgreSQL's jsonb refuses:
    // before, a handler returning one failed every write of its attempt on PostgreSQL only.
    const yaml = `
namespace: e
name: surrogate
version: 1.0.0
steps:
  - { name: echo, handler: echo }
  - { name: fail, handler: fail, depends_on: [echo] }
`;
    const { tasker } = await startEngine([yaml], {
      echo: ({ task }) => ({ got: task.context.text, pair: '\u{1F600}' }),
      fail: () => {
        throw new PermanentError('card \udc00 declined');
      },
    });
    const { task } = await tasker.createTask({
      namespace: 'e',
      name: 'surrogate',
      context: { text: 'a\ud800b' },
    });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('error');
    const d = await tasker.getTask(task.id);
    expect(d.task.context.text).toBe('a\ufffdb');
    expect(d.steps[0]!.results).toEqual({ got: 'a\ufffdb', pair: '\u{1F600}' });
    // Plain text is each store's: PostgreSQL's driver writes one U+FFFD, SQLite keeps the surrogate's three
    // bytes and reads each back as one.
    expect(d.attempts.find((a) => a.stepName === 'fail')!.errorMessage).toMatch(/^card \ufffd+ declined$/);
  });

  it('a manually closed task leaves no claimable steps behind to block a worker', async () => {
    const yaml = `
namespace: e
name: two_failures
version: 1.0.0
steps:
  - { name: a, handler: fail }
  - { name: b, handler: fail }
  - { name: c, handler: ok, depends_on: [a] }
`;
    const other = `
namespace: e
name: other
version: 1.0.0
steps:
  - { name: only, handler: ok }
`;
    const { tasker } = await startEngine(
      [yaml, other],
      {
        fail: () => {
          throw new PermanentError('no');
        },
        ok: () => 'ok',
      },
      { concurrency: 1 },
    );
    const { task } = await tasker.createTask({ namespace: 'e', name: 'two_failures' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('error');
    await tasker.resolveStep(task.id, 'a', 'by hand'); // b still failed: the task stays in error
    expect((await tasker.getTask(task.id)).task.status).toBe('error');
    await tasker.resolveTask(task.id);
    // No step of the closed task is claimable any more.
    expect((await tasker.getTask(task.id)).steps.map((st) => st.readyAt)).toEqual([null, null, null]);
    const next = await tasker.createTask({ namespace: 'e', name: 'other' });
    expect((await tasker.waitForTask(next.task.id, { timeoutMs: 3000 })).status).toBe('complete');
  });

  it('keeps its own copy of the context and of results: later mutation by the caller or a handler changes nothing', async () => {
    const yaml = `
namespace: e
name: alias
version: 1.0.0
steps:
  - { name: first, handler: first }
  - { name: second, handler: second, depends_on: [first] }
`;
    const seen: unknown[] = [];
    const { tasker } = await startEngine(yaml, {
      first: ({ task }) => {
        seen.push(task.context.order);
        try {
          task.context.order = 'changed by a handler';
        } catch (err) {
          seen.push((err as Error).name);
        }
        return { when: new Date(0), missing: undefined };
      },
      second: ({ task, sequence }) => {
        seen.push(task.context.order, sequence.findStepByName('first')?.results);
        return 'ok';
      },
    });
    const context = { order: 1 };
    const { task } = await tasker.createTask({ namespace: 'e', name: 'alias', context });
    context.order = 2; // the caller reuses its object
    await tasker.waitForTask(task.id, { timeoutMs: 5000 });
    // The dependant sees exactly what the database holds: a JSON value.
    expect(seen).toEqual([1, 'TypeError', 1, { when: '1970-01-01T00:00:00.000Z' }]);
    const d = await tasker.getTask(task.id);
    d.task.status = 'cancelled'; // a caller scribbling on what it got back
    expect((await tasker.getTask(task.id)).task.status).toBe('complete');
  });

  it('after an operator retry, backoff starts again from the base delay', async () => {
    const yaml = `
namespace: e
name: backoff
version: 1.0.0
steps:
  - { name: only, handler: flaky, retry: { max_attempts: 2, backoff: { base_seconds: 0.05, multiplier: 100, max_seconds: 60, jitter: 0 } } }
`;
    let healthy = false;
    const starts: number[] = [];
    const { tasker } = await startEngine(yaml, {
      flaky: ({ step }) => {
        starts.push(Date.now());
        if (!healthy || step.attempt === 3) throw new Error('down');
        return 'ok';
      },
    });
    const { task } = await tasker.createTask({ namespace: 'e', name: 'backoff' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('error');
    healthy = true;
    await tasker.retryTask(task.id);
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('complete');
    // Attempt 3 failed, attempt 4 followed after the base 0.05 s, not 0.05 × 100² s.
    expect(starts).toHaveLength(4);
    expect((starts[3] ?? 0) - (starts[2] ?? 0)).toBeLessThan(2000);
  });

  it('leaves a step whose handler this worker lacks for a worker that has it, instead of failing it', async () => {
    const yaml = `
namespace: e
name: split
version: 1.0.0
steps:
  - { name: here, handler: here }
  - { name: there, handler: there, depends_on: [here] }
`;
    const database = testDatabase();
    const templates = templatesFromYaml(yaml);
    const producer = await createTasker({ database, templates, logger: false, migrate: true });
    const { task } = await producer.createTask({ namespace: 'e', name: 'split' });
    const partial = await createTasker({
      database,
      templates,
      logger: false,
      pollIntervalMs: 20,
      handlers: { here: () => 'here' },
    });
    const hereDone = nextEvent(partial, 'step.completed', (e) => e.payload.step_name === 'here');
    partial.start();
    await hereDone;
    // The tick that recorded `here` would have claimed `there` too, had this worker taken it.
    await partial.whenIdle();
    const mid = await partial.getTask(task.id);
    expect(mid.steps.map((s) => [s.name, s.status])).toEqual([
      ['here', 'complete'],
      ['there', 'pending'],
    ]);
    const full = await createTasker({
      database,
      templates,
      logger: false,
      pollIntervalMs: 20,
      handlers: { here: () => 'here', there: () => 'there' },
    });
    full.start();
    expect((await full.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('complete');
    await Promise.all([producer.close(), partial.close(), full.close()]);
  });

  it('claims a dependant in the same transaction that records its dependency (one tick per step)', async () => {
    const yaml = `
namespace: e
name: chain5
version: 1.0.0
steps:
  - { name: s1, handler: ok }
  - { name: s2, handler: ok, depends_on: [s1] }
  - { name: s3, handler: ok, depends_on: [s2] }
  - { name: s4, handler: ok, depends_on: [s3] }
  - { name: s5, handler: ok, depends_on: [s4] }
`;
    const { tasker } = await startEngine(yaml, { ok: () => 'ok' }, { pollIntervalMs: 60_000 });
    await tasker.whenIdle();
    const busy = () => (tasker.workerStats()?.ticks ?? 0) - (tasker.workerStats()?.emptyTicks ?? 0);
    const before = busy();
    const { task } = await tasker.createTask({ namespace: 'e', name: 'chain5' });
    await tasker.waitForTask(task.id, { timeoutMs: 5000, pollMs: 10 });
    await tasker.whenIdle();
    // 1 tick claims s1, then each tick commits s(n) and claims s(n+1): 6 ticks that do work, not ~10.
    // (Ticks that found nothing to do — polls, wake-ups — do not count.)
    expect(busy() - before).toBeLessThanOrEqual(6);
  });

  it('stop() ends attempts that outlive its timeout and records them as retryable, not lost', async () => {
    const yaml = `
namespace: e
name: long
version: 1.0.0
steps:
  - { name: only, handler: long }
`;
    const { tasker } = await startEngine(yaml, { long: () => sleep(10_000) });
    const started = nextEvent(tasker, 'step.started');
    const { task } = await tasker.createTask({ namespace: 'e', name: 'long' });
    await started;
    await tasker.stop(100);
    const d = await tasker.getTask(task.id);
    expect(d.steps[0]?.status).toBe('waiting_for_retry');
    expect(d.attempts.map((a) => [a.outcome, a.errorType])).toEqual([['retry', 'worker_stopped']]);
  });

  it('rejects results that are not JSON when resolving a step, changing nothing', async () => {
    const yaml = `
namespace: e
name: res
version: 1.0.0
steps:
  - { name: only, handler: ok }
`;
    const { tasker } = await startEngine(yaml, { ok: () => 'ok' }, { start: false });
    const { task } = await tasker.createTask({ namespace: 'e', name: 'res' });
    await expect(tasker.resolveStep(task.id, 'only', { n: 1n })).rejects.toMatchObject({
      code: 'NOT_SERIALIZABLE',
    });
    expect((await tasker.getTask(task.id)).steps[0]?.status).toBe('pending');
  });

  it('validates waitForTask and engine options instead of looping or overflowing timers', async () => {
    const { tasker } = await startEngine(
      'namespace: e\nname: w\nversion: 1.0.0\nsteps: [{ name: s, handler: ok }]',
      { ok: () => 1 },
      { start: false },
    );
    const { task } = await tasker.createTask({ namespace: 'e', name: 'w' });
    await expect(tasker.waitForTask(task.id, { timeoutMs: Number.NaN })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(createTasker({ leaseSeconds: 0.01, logger: false })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
    await expect(createTasker({ pollIntervalMs: 2 ** 31, logger: false })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });

  it('delivers to every subscriber even when one unsubscribes during delivery', async () => {
    const bus = new EventBus();
    const got: string[] = [];
    const off = bus.subscribe('*', () => {
      got.push('first');
      off();
    });
    bus.subscribe('*', () => void got.push('second'));
    const e = { name: 'task.created', payload: {} } as unknown as TaskerEvent;
    bus.publish([e]);
    await bus.drain();
    expect(got).toEqual(['first', 'second']);
  });
});
