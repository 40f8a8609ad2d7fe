/** Lifecycle events: one per transition, full payloads, custom events, subscriber isolation. */
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  BaseSubscriber,
  PermanentError,
  type EventPayload,
  type StepEventPayload,
  type TaskEventPayload,
  type TaskerEvent,
} from '../src/index.js';
import { FAST_RETRY, nextEvent, signal, startEngine } from './support/harness.js';

const checkout = `
namespace: shop
name: order
version: 2.0.0
steps:
  - { name: validate, handler: ok }
  - { name: pay, handler: flaky, depends_on: [validate], ${FAST_RETRY} }
  - { name: ship, handler: ok, depends_on: [pay] }
  - { name: email, handler: ok, depends_on: [pay] }
`;

/** Which event each committed transition must produce. */
function expectedEvent(stepName: string | null, from: string | null, to: string): string | null {
  if (stepName === null) {
    return (
      (
        {
          pending: from === null ? 'task.created' : 'task.retry_requested',
          in_progress: 'task.started',
          complete: 'task.completed',
          error: 'task.failed',
          cancelled: 'task.cancelled',
          resolved_manually: 'task.resolved_manually',
        } as Record<string, string>
      )[to] ?? null
    );
  }
  return (
    (
      {
        in_progress: 'step.started',
        complete: 'step.completed',
        waiting_for_retry: 'step.retry_scheduled',
        error: 'step.failed',
        cancelled: 'step.cancelled',
        resolved_manually: 'step.resolved_manually',
      } as Record<string, string>
    )[to] ?? null
  );
}

describe('events', () => {
  it('emits exactly one event per transition, with the documented payload fields', async () => {
    const { tasker, events } = await startEngine(checkout, {
      ok: () => ({ ok: true }),
      flaky: ({ step }) => {
        if (step.attempt === 1) throw new Error('gateway 503');
        return { paid: true };
      },
    });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { task } = await tasker.createTask({
        namespace: 'shop',
        name: 'order',
        context: { order_value: 10 * i },
      });
      ids.push(task.id);
    }
    for (const id of ids) await tasker.waitForTask(id, { timeoutMs: 5000 });
    await tasker.events.drain();

    for (const id of ids) {
      const transitions = await tasker.getTransitions(id);
      const expected = transitions
        .map((t) => `${expectedEvent(t.stepName, t.fromState, t.toState)}:${t.stepName ?? ''}`)
        .sort();
      const got = events
        .filter((e) => e.payload.task_id === id)
        .map((e) => `${e.name}:${(e.payload as Partial<StepEventPayload>).step_name ?? ''}`)
        .sort();
      expect(got).toEqual(expected);
    }
    const completed = events.filter((e) => e.name === 'task.completed') as Array<
      TaskerEvent<TaskEventPayload>
    >;
    expect(completed).toHaveLength(5);
    const p = completed[0]?.payload;
    expect(p).toMatchObject({
      event: 'task.completed',
      task_name: 'order',
      namespace_name: 'shop',
      task_version: '2.0.0',
      total_steps: 4,
      completed_steps: 4,
      failed_steps: 0,
    });
    expect(typeof p?.execution_duration_seconds).toBe('number');
    expect(p?.correlation_id).toMatch(/^tsk_/);
    expect(p?.context).toHaveProperty('order_value');
    expect(new Date(p?.timestamp ?? '').getTime()).toBeGreaterThan(0);

    const retry = events.find((e) => e.name === 'step.retry_scheduled')?.payload as StepEventPayload;
    expect(retry).toMatchObject({
      step_name: 'pay',
      attempt: 1,
      max_attempts: 3,
      error_message: 'gateway 503',
      error_type: 'Error',
    });
    expect(Date.parse(retry.next_attempt_at ?? '')).toBeGreaterThan(0);
    const done = events.find(
      (e) => e.name === 'step.completed' && (e.payload as StepEventPayload).step_name === 'pay',
    );
    expect((done?.payload as StepEventPayload).execution_duration_seconds).toBeGreaterThanOrEqual(0);
  });

  it("types each subscription's payload by the names it listens to", async () => {
    const { tasker } = await startEngine(checkout, {
      ok: () => ({ ok: true }),
      flaky: () => {
        throw new PermanentError('card declined');
      },
    });
    const failedSteps: Array<[string, string | null]> = [];
    const ends: string[] = [];
    const stepEvents: string[] = [];
    const everything: string[] = [];
    tasker.subscribe('step.failed', (e) => {
      expectTypeOf(e.payload).toEqualTypeOf<StepEventPayload>();
      failedSteps.push([e.payload.step_name, e.payload.error_type]);
    });
    tasker.subscribe(['task.completed', 'task.failed'], (e) => {
      expectTypeOf(e.payload).toEqualTypeOf<TaskEventPayload>();
      ends.push(e.payload.status);
    });
    tasker.subscribe('step.*', (e) => {
      expectTypeOf(e.payload).toEqualTypeOf<StepEventPayload>();
      stepEvents.push(e.name);
    });
    tasker.subscribe('*', (e) => {
      expectTypeOf(e.payload).toEqualTypeOf<EventPayload>();
      everything.push(e.name);
    });
    // @ts-expect-error a step event carries no task status
    tasker.subscribe('step.failed', (e) => e.payload.status);
    const { task } = await tasker.createTask({ namespace: 'shop', name: 'order' });
    await tasker.waitForTask(task.id, { timeoutMs: 5000 });
    await tasker.events.drain();
    expect(failedSteps).toEqual([['pay', 'PermanentError']]);
    expect(ends).toEqual(['failed']); // the seed's word, as the API and the metrics say it
    expect(stepEvents).toContain('step.blocked');
    expect(everything).toContain('task.failed');
  });

  it('publishes custom events from handlers and rejects names that collide with system events', async () => {
    const yaml = `
namespace: shop
name: custom
version: 1.0.0
steps:
  - { name: only, handler: emitter, retry: { retryable: false } }
`;
    let collision: unknown;
    const { tasker, events } = await startEngine(yaml, {
      emitter: ({ emit }) => {
        emit('checkout.fraud_check_passed', { score: 0.02 });
        try {
          emit('task.completed', {});
        } catch (err) {
          collision = err;
        }
        return 'ok';
      },
    });
    const { task } = await tasker.createTask({ namespace: 'shop', name: 'custom' });
    await tasker.waitForTask(task.id, { timeoutMs: 5000 });
    await tasker.events.drain();
    const custom = events.find((e) => e.name === 'checkout.fraud_check_passed');
    expect(custom?.payload).toMatchObject({
      task_id: task.id,
      step_name: 'only',
      attempt: 1,
      payload: { score: 0.02 },
    });
    expect(collision).toMatchObject({ code: 'EVENT_NAME_RESERVED' });
    expect(events.filter((e) => e.name === 'task.completed')).toHaveLength(1);
  });

  it('isolates a throwing and a slow subscriber: steps are neither failed nor stalled', async () => {
    const yaml = `
namespace: shop
name: iso
version: 1.0.0
steps:
  - { name: a, handler: ok }
  - { name: b, handler: ok, depends_on: [a] }
`;
    const { tasker } = await startEngine(yaml, { ok: () => 'ok' });
    tasker.subscribe(
      'step.*',
      () => {
        throw new Error('subscriber bug');
      },
      { name: 'thrower' },
    );
    // A subscriber that never returns until the end of the test: the task must complete regardless.
    const hold = signal();
    tasker.subscribe('*', () => hold.promise, { name: 'sleeper' });
    tasker.subscribe('task.*', () => Promise.reject(new Error('async bug')), { name: 'rejecter' });
    const { task } = await tasker.createTask({ namespace: 'shop', name: 'iso' });
    const done = await tasker.waitForTask(task.id, { timeoutMs: 5000, pollMs: 10 });
    expect(done.status).toBe('complete');
    const stalled = tasker.events.stats().find((s) => s.name === 'sleeper');
    expect(stalled?.pending).toBeGreaterThan(0);
    hold.fire();
    await tasker.events.drain();
    const stats = Object.fromEntries(tasker.events.stats().map((s) => [s.name, s]));
    expect(stats.thrower?.failed).toBe(4); // 2 × step.started + 2 × step.completed
    expect(stats.rejecter?.failed).toBeGreaterThanOrEqual(3); // created, started, completed
    expect(stats.sleeper?.failed).toBe(0);
  });

  it('drops deliveries to a subscriber that falls too far behind, and counts them', async () => {
    const yaml = `
namespace: shop
name: flood
version: 1.0.0
steps:
  - { name: a, handler: ok }
`;
    const { tasker } = await startEngine(yaml, { ok: () => 'ok' });
    const hold = signal();
    tasker.subscribe('*', () => hold.promise, { name: 'stuck', maxPending: 3 });
    let completed = 0;
    const last = nextEvent(tasker, 'task.completed', () => ++completed === 4);
    for (let i = 0; i < 4; i++) await tasker.createTask({ namespace: 'shop', name: 'flood' });
    // Delivered in the flush that also offers it to `stuck`, which is then over its limit.
    await last;
    const stuck = tasker.events.stats().find((s) => s.name === 'stuck');
    expect(stuck?.pending).toBe(3);
    expect(stuck?.dropped).toBeGreaterThan(0);
    hold.fire();
  });

  it('dispatches to Tasker-style subscriber methods named after the event', async () => {
    const yaml = `
namespace: shop
name: sub
version: 1.0.0
steps:
  - { name: a, handler: ok }
`;
    const seen: string[] = [];
    class BusinessMetrics extends BaseSubscriber {
      readonly subscribesTo = ['task.completed', 'step.*'];
      handleTaskCompleted(e: TaskerEvent) {
        seen.push(`completed ${(e.payload as TaskEventPayload).task_name}`);
      }
      override handle(e: TaskerEvent) {
        seen.push(`other ${e.name}`);
      }
    }
    const { tasker } = await startEngine(yaml, { ok: () => 'ok' });
    tasker.addSubscriber(new BusinessMetrics());
    const { task } = await tasker.createTask({ namespace: 'shop', name: 'sub' });
    await tasker.waitForTask(task.id, { timeoutMs: 5000 });
    await tasker.events.drain();
    expect(seen).toEqual(['other step.started', 'other step.completed', 'completed sub']);
  });
});
