/**
 * Prometheus metrics with the seed's names, served at /tasker/metrics: counts equal what the engine did,
 * histograms observe durations, and no label carries a task id, correlation id or context value.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../src/api/server.js';
import type { StepHandlerContext } from '../src/index.js';
import { FAST_RETRY, startEngine } from './support/harness.js';

const SHOP = `
namespace: shop
name: order
version: 1.0.0
steps:
  - { name: check, handler: check }
  - name: reserve
    handler: reserve
    depends_on: [check]
    timeout_seconds: 0.1
    ${FAST_RETRY.replace('max_attempts: 3', 'max_attempts: 2')}
`;

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

/** `name{labels} value` lines of one family, as a map from the label text to the value. */
function family(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) out.set(m[1] ?? '', Number(m[2]));
  }
  return out;
}

describe('Prometheus metrics', () => {
  it('counts tasks, steps, retries and timeouts with template labels only', async () => {
    const { tasker } = await startEngine(SHOP, {
      check: () => true,
      reserve: ({ task, signal }: StepHandlerContext) =>
        task.context.hang
          ? new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))))
          : { ok: true },
    });
    const app = await buildServer(tasker, { processMetrics: false });
    apps.push(app);
    const made = await tasker.createTasks([
      {
        namespace: 'shop',
        name: 'order',
        context: { secret_order: 'ord-visible-1' },
        correlationId: 'journey-abc',
      },
      { namespace: 'shop', name: 'order', context: {} },
      { namespace: 'shop', name: 'order', context: { hang: true } },
    ]);
    for (const m of made) await tasker.waitForTask(m.task.id, { timeoutMs: 10_000, pollMs: 20 });
    await tasker.events.drain();
    const text = (await app.inject({ url: '/tasker/metrics' })).body;

    expect(family(text, 'tasker_tasks_total')).toEqual(
      new Map([
        ['{namespace="shop",name="order",version="1.0.0",status="completed"}', 2],
        ['{namespace="shop",name="order",version="1.0.0",status="failed"}', 1],
      ]),
    );
    const steps = family(text, 'tasker_steps_total');
    expect(steps.get('{namespace="shop",name="order",step="check",status="completed"}')).toBe(3);
    expect(steps.get('{namespace="shop",name="order",step="reserve",status="completed"}')).toBe(2);
    expect(steps.get('{namespace="shop",name="order",step="reserve",status="retried"}')).toBe(1);
    expect(steps.get('{namespace="shop",name="order",step="reserve",status="failed"}')).toBe(1);
    expect(
      family(text, 'tasker_step_timeouts_total').get('{namespace="shop",name="order",step="reserve"}'),
    ).toBe(2);
    expect(
      family(text, 'tasker_step_retries_total').get(
        '{namespace="shop",name="order",step="reserve",error_type="timeout"}',
      ),
    ).toBe(1);
    expect(
      family(text, 'tasker_task_duration_seconds_count').get(
        '{namespace="shop",name="order",status="completed"}',
      ),
    ).toBe(2);
    const timedOut = family(text, 'tasker_step_duration_seconds_sum').get(
      '{namespace="shop",name="order",step="reserve",status="failed"}',
    );
    expect(timedOut).toBeGreaterThanOrEqual(0.1);
    // Read from the store at scrape time: nothing is running any more.
    expect(family(text, 'tasker_tasks_in_progress').size).toBe(0);
    expect(text).toMatch(/^tasker_build_info\{version="\d+\.\d+\.\d+[^"]*"\} 1$/m);
    // Low cardinality: nothing task-specific is ever a label.
    for (const m of made) expect(text).not.toContain(m.task.id);
    expect(text).not.toContain('journey-abc');
    expect(text).not.toContain('ord-visible-1');
  });

  it('are off until asked for, so a library user pays nothing for events nobody reads', async () => {
    const { tasker } = await startEngine(SHOP, { check: () => true, reserve: () => true });
    const made = await tasker.createTask({ namespace: 'shop', name: 'order' });
    await tasker.waitForTask(made.task.id, { timeoutMs: 10_000, pollMs: 20 });
    expect(await tasker.metrics.metrics()).not.toContain('tasker_tasks_total');
    tasker.enableMetrics();
    tasker.enableMetrics();
    const again = await tasker.createTask({ namespace: 'shop', name: 'order' });
    await tasker.waitForTask(again.task.id, { timeoutMs: 10_000, pollMs: 20 });
    await tasker.events.drain();
    expect(
      family(await tasker.metrics.metrics(), 'tasker_tasks_total').get(
        '{namespace="shop",name="order",version="1.0.0",status="completed"}',
      ),
    ).toBe(1);
  });
});
