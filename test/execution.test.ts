/** Execution semantics: DAG order, concurrency, retries, permanent errors, timeouts. */
import { describe, expect, it } from 'vitest';
import { PermanentError, RetryableError } from '../src/index.js';
import { FAST_RETRY, sleep, startEngine } from './support/harness.js';

const diamond = `
namespace: t
name: diamond
version: 1.0.0
steps:
  - { name: a, handler: rec }
  - { name: b, handler: rec, depends_on: [a] }
  - { name: c, handler: rec, depends_on: [a] }
  - { name: d, handler: rec, depends_on: [b, c] }
`;

function fanout(n: number): string {
  const mids = Array.from(
    { length: n },
    (_, i) => `  - { name: m${i}, handler: rec, depends_on: [start] }`,
  ).join('\n');
  return `
namespace: t
name: fanout
version: 1.0.0
steps:
  - { name: start, handler: rec }
${mids}
  - { name: end, handler: rec, depends_on: [${Array.from({ length: n }, (_, i) => `m${i}`).join(', ')}] }
`;
}

function recorder() {
  const log: Array<{ step: string; phase: 'start' | 'end'; at: number }> = [];
  return {
    log,
    handlers: {
      rec: async ({
        step,
        sequence,
      }: {
        step: { name: string };
        sequence: { steps: readonly { name: string; status: string }[] };
      }) => {
        log.push({ step: step.name, phase: 'start', at: performance.now() });
        await sleep(5);
        log.push({ step: step.name, phase: 'end', at: performance.now() });
        return {
          step: step.name,
          saw: sequence.steps.filter((s) => s.status === 'complete').map((s) => s.name),
        };
      },
    },
  };
}

const at = (log: ReturnType<typeof recorder>['log'], step: string, phase: 'start' | 'end') =>
  log.find((e) => e.step === step && e.phase === phase)?.at ?? NaN;

describe('DAG execution', () => {
  it('runs a diamond: each step after all its dependencies, dependants see their results', async () => {
    const r = recorder();
    const { tasker } = await startEngine(diamond, r.handlers);
    const { task } = await tasker.createTask({ namespace: 't', name: 'diamond', context: {} });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('complete');
    expect(at(r.log, 'b', 'start')).toBeGreaterThanOrEqual(at(r.log, 'a', 'end'));
    expect(at(r.log, 'c', 'start')).toBeGreaterThanOrEqual(at(r.log, 'a', 'end'));
    expect(at(r.log, 'd', 'start')).toBeGreaterThanOrEqual(
      Math.max(at(r.log, 'b', 'end'), at(r.log, 'c', 'end')),
    );
    const d = await tasker.getTask(task.id);
    expect(d.steps.map((s) => s.name)).toEqual(['a', 'b', 'c', 'd']);
    const dResults = d.steps.find((s) => s.name === 'd')?.results as { saw: string[] };
    expect([...dResults.saw].sort()).toEqual(['a', 'b', 'c']);
    expect(r.log.filter((e) => e.phase === 'start')).toHaveLength(4);
  });

  it('runs a 1 → 20 → 1 fan-out/fan-in with the middle in parallel', async () => {
    const r = recorder();
    const { tasker } = await startEngine(fanout(20), r.handlers, { concurrency: 32 });
    const { task } = await tasker.createTask({ namespace: 't', name: 'fanout' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('complete');
    const endStart = at(r.log, 'end', 'start');
    for (let i = 0; i < 20; i++) expect(endStart).toBeGreaterThanOrEqual(at(r.log, `m${i}`, 'end'));
    // Parallel: some middle step started before another one ended.
    const firstEnd = Math.min(...Array.from({ length: 20 }, (_, i) => at(r.log, `m${i}`, 'end')));
    const lastStart = Math.max(...Array.from({ length: 20 }, (_, i) => at(r.log, `m${i}`, 'start')));
    expect(lastStart).toBeLessThan(firstEnd);
  });

  it('overlaps independent steps: each of two 200 ms steps starts before the other ends', async () => {
    const yaml = `
namespace: t
name: pair
version: 1.0.0
steps:
  - { name: left, handler: slow }
  - { name: right, handler: slow }
`;
    const spans: Array<[number, number]> = [];
    const { tasker } = await startEngine(yaml, {
      slow: async () => {
        const s = performance.now();
        await sleep(200);
        spans.push([s, performance.now()]);
      },
    });
    const { task } = await tasker.createTask({ namespace: 't', name: 'pair' });
    await tasker.waitForTask(task.id, { timeoutMs: 5000, pollMs: 10 });
    expect(spans).toHaveLength(2);
    // Overlap itself, not a wall-clock total (which a loaded CI machine can push past any bound): each
    // step started before the other one ended.
    const [a, b] = spans as [[number, number], [number, number]];
    expect(Math.max(a[0], b[0])).toBeLessThan(Math.min(a[1], b[1]));
  });

  it('respects the per-task concurrency limit', async () => {
    let running = 0;
    let peak = 0;
    const { tasker } = await startEngine(
      fanout(8),
      {
        rec: async () => {
          running += 1;
          peak = Math.max(peak, running);
          await sleep(20);
          running -= 1;
        },
      },
      { concurrency: 16, perTaskConcurrency: 3 },
    );
    const { task } = await tasker.createTask({ namespace: 't', name: 'fanout' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('complete');
    expect(peak).toBe(3);
  });
});

const single = (handler: string, extra = FAST_RETRY) => `
namespace: t
name: one_${handler}
version: 1.0.0
steps:
  - name: only
    handler: ${handler}
    ${extra}
`;

describe('retries and failures', () => {
  it('retries a failing step and succeeds, recording every attempt', async () => {
    let calls = 0;
    const { tasker } = await startEngine(single('flaky'), {
      flaky: ({ step }) => {
        calls += 1;
        if (step.attempt < 3) throw new Error(`transient ${step.attempt}`);
        return { attempt: step.attempt };
      },
    });
    const { task } = await tasker.createTask({ namespace: 't', name: 'one_flaky' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('complete');
    const d = await tasker.getTask(task.id);
    expect(calls).toBe(3);
    expect(d.attempts.map((a) => [a.attempt, a.outcome, a.errorType, a.errorMessage])).toEqual([
      [1, 'retry', 'Error', 'transient 1'],
      [2, 'retry', 'Error', 'transient 2'],
      [3, 'complete', null, null],
    ]);
    expect(d.steps[0]?.results).toEqual({ attempt: 3 });
    for (const a of d.attempts) {
      expect(a.finishedAt).toBeGreaterThanOrEqual(a.startedAt);
      expect(a.durationMs).toBe(a.finishedAt - a.startedAt);
    }
  });

  it('stops at once on a PermanentError and blocks the dependants', async () => {
    let calls = 0;
    const yaml = `
namespace: t
name: perm
version: 1.0.0
steps:
  - { name: a, handler: perm, ${FAST_RETRY} }
  - { name: b, handler: ok, depends_on: [a] }
  - { name: c, handler: ok, depends_on: [b] }
`;
    const { tasker, events } = await startEngine(yaml, {
      perm: () => {
        calls += 1;
        throw new PermanentError('card declined');
      },
      ok: () => ({}),
    });
    const { task } = await tasker.createTask({ namespace: 't', name: 'perm' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('error');
    expect(calls).toBe(1);
    const d = await tasker.getTask(task.id);
    expect(d.steps.map((s) => [s.name, s.displayStatus])).toEqual([
      ['a', 'error'],
      ['b', 'blocked'],
      ['c', 'blocked'],
    ]);
    expect(d.steps[0]?.errorType).toBe('PermanentError');
    expect(d.blockedSteps).toEqual(['b', 'c']);
    await tasker.events.drain();
    expect(
      events
        .filter((e) => e.name === 'step.blocked')
        .map((e) => (e.payload as { step_name: string }).step_name),
    ).toEqual(['b', 'c']);
    expect(events.some((e) => e.name === 'step.max_retries_reached')).toBe(false);
  });

  it('treats any thrown value with retryable === false as permanent (duplicate package copies)', async () => {
    let calls = 0;
    const { tasker } = await startEngine(single('foreign'), {
      foreign: () => {
        calls += 1;
        throw Object.assign(new Error('from another copy'), { name: 'PermanentError', retryable: false });
      },
    });
    const { task } = await tasker.createTask({ namespace: 't', name: 'one_foreign' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('error');
    expect(calls).toBe(1);
  });

  it('fails the task when attempts are exhausted', async () => {
    const { tasker, events } = await startEngine(single('always'), {
      always: () => {
        throw new Error('still down');
      },
    });
    const { task } = await tasker.createTask({ namespace: 't', name: 'one_always' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('error');
    const d = await tasker.getTask(task.id);
    expect(d.attempts.map((a) => a.outcome)).toEqual(['retry', 'retry', 'error']);
    expect(d.steps[0]?.attempts).toBe(3);
    await tasker.events.drain();
    expect(events.filter((e) => e.name === 'step.max_retries_reached')).toHaveLength(1);
    expect(events.filter((e) => e.name === 'step.retry_scheduled')).toHaveLength(2);
  });

  it('records a non-Error throw as a retryable failure with a readable message', async () => {
    const { tasker } = await startEngine(single('weird'), {
      weird: ({ step }) => {
        if (step.attempt === 1) throw 'plain string';
        if (step.attempt === 2) throw { code: 42 };
        return 'ok';
      },
    });
    const { task } = await tasker.createTask({ namespace: 't', name: 'one_weird' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('complete');
    const d = await tasker.getTask(task.id);
    expect(d.attempts.map((a) => [a.errorType, a.errorMessage])).toEqual([
      ['NonErrorThrown', 'non-Error thrown: plain string'],
      ['NonErrorThrown', 'non-Error thrown: {"code":42}'],
      [null, null],
    ]);
  });

  it('fails a step whose result cannot be stored as JSON, without crashing', async () => {
    const { tasker } = await startEngine(single('bigint'), {
      bigint: () => ({ total: 10n }),
    });
    const { task } = await tasker.createTask({ namespace: 't', name: 'one_bigint' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('error');
    const d = await tasker.getTask(task.id);
    expect(d.steps[0]?.errorType).toBe('NotSerializable');
    expect(d.steps[0]?.errorMessage).toMatch(/cannot be stored as JSON.*BigInt/);
    expect(d.attempts).toHaveLength(1);
  });

  it('honours RetryableError.retryAfterSeconds over the backoff', async () => {
    const starts: number[] = [];
    const { tasker } = await startEngine(
      single('later', 'retry: { max_attempts: 2, backoff: { base_seconds: 5, max_seconds: 10, jitter: 0 } }'),
      {
        later: ({ step }) => {
          starts.push(Date.now());
          if (step.attempt === 1) throw new RetryableError('rate limited', { retryAfterSeconds: 0.3 });
          return 'ok';
        },
      },
    );
    const { task } = await tasker.createTask({ namespace: 't', name: 'one_later' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('complete');
    const gap = (starts[1] ?? 0) - (starts[0] ?? 0);
    expect(gap).toBeGreaterThanOrEqual(290);
    expect(gap).toBeLessThan(2000); // the 5 s backoff would have been used otherwise
  });

  it('caps retryAfterSeconds at the policy maximum', async () => {
    const { tasker } = await startEngine(
      single(
        'greedy',
        'retry: { max_attempts: 2, backoff: { base_seconds: 0.01, max_seconds: 0.2, jitter: 0 } }',
      ),
      {
        greedy: ({ step }) => {
          if (step.attempt === 1)
            throw new RetryableError('come back tomorrow', { retryAfterSeconds: 86_400 });
          return 'ok';
        },
      },
    );
    const { task } = await tasker.createTask({ namespace: 't', name: 'one_greedy' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 3000 })).status).toBe('complete');
  });
});

describe('timeouts', () => {
  it('fails an attempt on time even when the handler ignores its signal, then retries', async () => {
    const yaml = `
namespace: t
name: hang
version: 1.0.0
steps:
  - name: only
    handler: hang
    timeout_seconds: 0.15
    retry: { max_attempts: 2, backoff: { base_seconds: 0.01, jitter: 0 } }
`;
    let sawAbort = false;
    const { tasker, events } = await startEngine(yaml, {
      hang: async ({ step, signal }) => {
        signal.addEventListener('abort', () => (sawAbort = true));
        if (step.attempt === 1) await sleep(5_000); // ignores the signal
        return 'second try';
      },
    });
    const t0 = Date.now();
    const { task } = await tasker.createTask({ namespace: 't', name: 'hang' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 4000 })).status).toBe('complete');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(sawAbort).toBe(true);
    const d = await tasker.getTask(task.id);
    const first = d.attempts[0];
    expect(first?.errorType).toBe('timeout');
    expect(first?.outcome).toBe('retry');
    expect(first?.durationMs).toBeGreaterThanOrEqual(140);
    expect(first?.durationMs).toBeLessThan(1000);
    await tasker.events.drain();
    expect(events.filter((e) => e.name === 'step.timed_out')).toHaveLength(1);
  });

  it('fails the task with error_type timeout when every attempt times out', async () => {
    const yaml = `
namespace: t
name: hang2
version: 1.0.0
steps:
  - { name: only, handler: hang, timeout_seconds: 0.05, retry: { max_attempts: 2, backoff: { base_seconds: 0.01, jitter: 0 } } }
  - { name: after, handler: hang, depends_on: [only] }
`;
    const { tasker } = await startEngine(yaml, {
      hang: ({ signal }) =>
        new Promise((_, rej) => signal.addEventListener('abort', () => rej(new Error('aborted')))),
    });
    const { task } = await tasker.createTask({ namespace: 't', name: 'hang2' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 4000 })).status).toBe('error');
    const d = await tasker.getTask(task.id);
    expect(d.steps.map((s) => [s.name, s.displayStatus, s.errorType])).toEqual([
      ['only', 'error', 'timeout'],
      ['after', 'blocked', null],
    ]);
    expect(d.bottleneckStep).toBe('only');
  });
});
