/**
 * Prometheus metrics with the seed's names, served at /tasker/metrics: counts equal what the engine did,
 * histograms observe durations, and no label carries a task id, correlation id or context value.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Counter, Registry } from 'prom-client';
import { buildServer } from '../src/api/server.js';
import { PermanentError, type StepHandlerContext } from '../src/index.js';
import { FAST_RETRY, signal, sleep, startEngine } from './support/harness.js';
import { capturingLogger, family } from './support/logs.js';

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
    // Read from the store at scrape time: nothing is running any more (0, not a missing series).
    expect(family(text, 'tasker_tasks_in_progress')).toEqual(
      new Map([['{namespace="shop",name="order"}', 0]]),
    );
    expect(family(text, 'tasker_steps_ready')).toEqual(new Map([['{namespace="shop"}', 0]]));
    // Each step's threshold for the alert rules: sla_seconds unset here, so the global 10 s default.
    expect(family(text, 'tasker_step_sla_seconds')).toEqual(
      new Map([
        ['{namespace="shop",name="order",step="check"}', 10],
        ['{namespace="shop",name="order",step="reserve"}', 10],
      ]),
    );
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

const CHECKOUT = `
namespace: shop
name: checkout
version: 2.0.0
business: { value_field: order_value, tier_field: tier }
steps:
  - { name: pay, handler: pay }
  - { name: hold, handler: hold, depends_on: [pay] }
`;

/** The tasker_* families only (promtool lints prom-client's default process metrics too, and some fail). */
function taskerFamilies(text: string): string {
  return text
    .split('\n')
    .filter((l) => /^(# (HELP|TYPE) )?tasker_/.test(l))
    .join('\n')
    .concat('\n');
}

const PROMTOOL = '/usr/bin/promtool';

describe('Prometheus metrics: business value, store gauges, subscriber errors, promtool', () => {
  it('sums business value by bounded tier, reads running tasks and ready steps from the store', async () => {
    const release: Array<() => void> = [];
    const bothHeld = signal();
    const { tasker } = await startEngine(
      CHECKOUT,
      {
        pay: ({ task }: StepHandlerContext) => {
          if (task.context.decline) throw new PermanentError('card declined');
          return { paid: true };
        },
        hold: ({ task }: StepHandlerContext) =>
          task.context.hold
            ? new Promise((r) => {
                if (release.push(() => r({ held: true })) === 2) bothHeld.fire();
              })
            : { held: false },
      },
      { concurrency: 2 },
    );
    tasker.enableMetrics();
    tasker.subscribe(
      'task.completed',
      () => {
        throw new Error('subscriber bug');
      },
      { name: 'audit-log' },
    );
    const orders = [
      { order_value: 120.5, tier: 'premium' },
      { order_value: 80, tier: 'Premium' },
      { order_value: 40, tier: 'standard' },
      { order_value: 999, tier: 'user-typed-tier-42' },
      { order_value: 300, tier: 'premium', decline: true },
      { order_value: 50, tier: 'standard', decline: true },
    ];
    const made = await tasker.createTasks(
      orders.map((context) => ({ namespace: 'shop', name: 'checkout', context })),
    );
    for (const m of made) await tasker.waitForTask(m.task.id, { timeoutMs: 10_000, pollMs: 20 });
    // Two tasks whose second step holds: both running, and (concurrency 2) a third task's step waits ready.
    await tasker.createTasks(
      [1, 2].map(() => ({
        namespace: 'shop',
        name: 'checkout',
        context: { order_value: 1, tier: 'free', hold: true },
      })),
    );
    await bothHeld.promise;
    expect(release).toHaveLength(2);
    tasker.stop(0).catch(() => {}); // stop claiming; the held steps stay in progress
    await tasker.createTask({
      namespace: 'shop',
      name: 'checkout',
      context: { order_value: 5, tier: 'free' },
    });
    await tasker.events.drain();
    const text = await tasker.metrics.metrics();

    const value = family(text, 'tasker_business_value_total');
    expect(value.get('{namespace="shop",name="checkout",status="completed",tier="premium"}')).toBeCloseTo(
      200.5,
    );
    expect(value.get('{namespace="shop",name="checkout",status="completed",tier="standard"}')).toBe(40);
    expect(value.get('{namespace="shop",name="checkout",status="completed",tier="other"}')).toBe(999);
    expect(value.get('{namespace="shop",name="checkout",status="failed",tier="premium"}')).toBe(300);
    expect(value.get('{namespace="shop",name="checkout",status="failed",tier="standard"}')).toBe(50);
    const impact = family(text, 'tasker_business_revenue_impact');
    expect(impact.get('{namespace="shop",name="checkout",impact_type="loss"}')).toBe(350);
    expect(impact.get('{namespace="shop",name="checkout",impact_type="realized"}')).toBeCloseTo(1239.5);
    expect(text).not.toContain('user-typed-tier-42');

    expect(family(text, 'tasker_tasks_in_progress').get('{namespace="shop",name="checkout"}')).toBe(2);
    expect(family(text, 'tasker_steps_ready').get('{namespace="shop"}')).toBe(1);
    // Every claimed step observed its wait: 6 + 6 tasks' pay steps minus the declined ones' hold.
    const waits = family(text, 'tasker_step_queue_wait_seconds_count');
    expect(waits.get('{namespace="shop",name="checkout",step="pay"}')).toBe(8);
    expect(waits.get('{namespace="shop",name="checkout",step="hold"}')).toBe(6);
    expect(
      family(text, 'tasker_subscriber_errors_total').get('{subscriber="audit-log",event="task.completed"}'),
    ).toBe(4);
    for (const r of release) r();
  });

  it.skipIf(!existsSync(PROMTOOL) && process.env.TASKER_REQUIRE_PROMTOOL !== '1')(
    'passes promtool check metrics on the tasker_* families',
    async () => {
      expect(existsSync(PROMTOOL), `${PROMTOOL} missing: apt-get install prometheus`).toBe(true);
      const { tasker } = await startEngine(SHOP, {
        check: () => true,
        reserve: ({ task }: StepHandlerContext) => {
          if (task.context.fail) throw new TypeError('nope');
          return true;
        },
      });
      tasker.enableMetrics();
      const made = await tasker.createTasks([
        { namespace: 'shop', name: 'order' },
        { namespace: 'shop', name: 'order', context: { fail: true } },
      ]);
      for (const m of made) await tasker.waitForTask(m.task.id, { timeoutMs: 10_000, pollMs: 20 });
      const exposition = taskerFamilies(await tasker.metrics.metrics());
      expect(exposition).toContain('tasker_steps_total{');
      const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
      expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
      expect(r.status).toBe(0);
      // And it does flag a family that breaks the conventions (the check is not vacuous).
      const bad = spawnSync(PROMTOOL, ['check', 'metrics'], {
        input:
          '# HELP tasker_bad_seconds_total x\n# TYPE tasker_bad_seconds_total gauge\ntasker_bad_seconds_total 1\n',
        encoding: 'utf8',
      });
      expect(bad.status).not.toBe(0);
    },
  );
});

describe('store operations (slow_query_threshold_seconds)', () => {
  it('times every store operation by name; one over the threshold is logged at warn and counted', async () => {
    const { logger, lines } = capturingLogger();
    // 1 µs: every real operation is slower, so each one must be reported.
    const { tasker } = await startEngine(
      SHOP,
      { check: () => true, reserve: () => true },
      { logger, telemetry: { slowQueryThresholdSeconds: 0.000001 } },
    );
    tasker.enableMetrics();
    const made = await tasker.createTask({ namespace: 'shop', name: 'order' });
    await tasker.waitForTask(made.task.id, { timeoutMs: 10_000, pollMs: 20 });
    await tasker.getTask(made.task.id);
    const text = await tasker.metrics.metrics();
    const counts = family(text, 'tasker_store_operation_duration_seconds_count');
    for (const op of ['createTasks', 'cycle', 'getTask'])
      expect(counts.get(`{operation="${op}"}`), op).toBeGreaterThanOrEqual(1);
    const slow = family(text, 'tasker_store_slow_queries_total');
    expect(slow.get('{operation="createTasks"}')).toBeGreaterThanOrEqual(1);
    expect(slow.get('{operation="getTask"}')).toBeGreaterThanOrEqual(1);
    const warned = lines.filter((l) => l.level === 40 && l.operation === 'getTask');
    expect(warned.length).toBeGreaterThanOrEqual(1);
    expect(warned[0]).toMatchObject({ threshold_ms: 0 });
    expect(warned[0]!.msg).toMatch(/^slow store operation: getTask took \d+ ms$/);
  });

  it('at the default threshold (1 s) times operations without calling them slow', async () => {
    const { logger, lines } = capturingLogger();
    const { tasker } = await startEngine(SHOP, { check: () => true, reserve: () => true }, { logger });
    tasker.enableMetrics();
    const made = await tasker.createTask({ namespace: 'shop', name: 'order' });
    await tasker.waitForTask(made.task.id, { timeoutMs: 10_000, pollMs: 20 });
    const text = await tasker.metrics.metrics();
    expect(
      family(text, 'tasker_store_operation_duration_seconds_count').get('{operation="createTasks"}'),
    ).toBe(1);
    expect(family(text, 'tasker_store_slow_queries_total').size).toBe(0);
    expect(
      lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('slow store operation')),
    ).toEqual([]);
  });

  it('refuses a threshold that is not a positive number, naming the setting', async () => {
    await expect(
      startEngine(SHOP, {}, { telemetry: { slowQueryThresholdSeconds: -1 } }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('slow_query_threshold_seconds'),
    });
  });
});

describe('a host-provided registry', () => {
  it('counts into the registry passed as telemetry.registry, next to the host’s own metrics', async () => {
    const host = new Registry();
    const own = new Counter({ name: 'app_requests_total', help: 'the host app’s', registers: [host] });
    own.inc(5);
    const { tasker } = await startEngine(
      SHOP,
      { check: () => true, reserve: () => true },
      { telemetry: { registry: host } },
    );
    expect(tasker.metrics).toBe(host);
    const made = await tasker.createTask({ namespace: 'shop', name: 'order' });
    await tasker.waitForTask(made.task.id, { timeoutMs: 10_000, pollMs: 20 });
    const text = await host.metrics();
    expect(family(text, 'app_requests_total').get('')).toBe(5);
    expect(
      family(text, 'tasker_tasks_total').get(
        '{namespace="shop",name="order",version="1.0.0",status="completed"}',
      ),
    ).toBe(1);
  });
});

describe('a task that fails and is retried to completion', () => {
  it('counts its value as a loss, then realized and recovered (net loss = loss − recovered)', async () => {
    let decline = true;
    const { tasker } = await startEngine(CHECKOUT, {
      pay: () => {
        if (decline) throw new PermanentError('card declined');
        return { paid: true };
      },
      hold: () => ({ held: false }),
    });
    tasker.enableMetrics();
    const { task } = await tasker.createTask({
      namespace: 'shop',
      name: 'checkout',
      context: { order_value: 250, tier: 'premium' },
    });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 10_000, pollMs: 20 })).status).toBe('error');
    decline = false;
    await tasker.retryTask(task.id);
    expect((await tasker.waitForTask(task.id, { timeoutMs: 10_000 })).status).toBe('complete');
    await tasker.events.drain();
    const impact = family(await tasker.metrics.metrics(), 'tasker_business_revenue_impact');
    expect(impact.get('{namespace="shop",name="checkout",impact_type="loss"}')).toBe(250);
    expect(impact.get('{namespace="shop",name="checkout",impact_type="realized"}')).toBe(250);
    expect(impact.get('{namespace="shop",name="checkout",impact_type="recovered"}')).toBe(250);
  });
});

describe('series Prometheus can rate from the start', () => {
  it('exist at 0 for every registered template before anything ran', async () => {
    const { tasker } = await startEngine(CHECKOUT, { pay: () => 1, hold: () => 1 }, { start: false });
    tasker.enableMetrics();
    const text = await tasker.metrics.metrics();
    // increase() needs a sample before the first failure: the first failed task must not go unseen.
    expect(family(text, 'tasker_tasks_total')).toEqual(
      new Map([
        ['{namespace="shop",name="checkout",version="2.0.0",status="completed"}', 0],
        ['{namespace="shop",name="checkout",version="2.0.0",status="failed"}', 0],
      ]),
    );
    expect(
      family(text, 'tasker_business_value_total').get(
        '{namespace="shop",name="checkout",status="failed",tier="premium"}',
      ),
    ).toBe(0);
    expect(
      family(text, 'tasker_step_timeouts_total').get('{namespace="shop",name="checkout",step="hold"}'),
    ).toBe(0);
  });

  it('a store that cannot be read keeps the scrape working: last gauge values, the failure counted', async () => {
    const { tasker } = await startEngine(CHECKOUT, { pay: () => 1, hold: () => 1 });
    tasker.enableMetrics();
    const before = await tasker.metrics.metrics();
    expect(family(before, 'tasker_tasks_in_progress').get('{namespace="shop",name="checkout"}')).toBe(0);
    const spy = vi.spyOn(tasker.store, 'activeCounts').mockRejectedValue(new Error('database is locked'));
    await sleep(1100); // past the one-second cache
    const during = await tasker.metrics.metrics();
    expect(spy).toHaveBeenCalled();
    // (Counted while that scrape was being assembled: it shows from the next one.)
    const after = await tasker.metrics.metrics();
    expect(family(after, 'tasker_metrics_store_read_errors_total').get('')).toBe(1);
    expect(family(during, 'tasker_tasks_in_progress').get('{namespace="shop",name="checkout"}')).toBe(0);
    expect(during).toContain('tasker_tasks_total{');
    spy.mockRestore();
  });
});

describe('a registry shared between Taskers', () => {
  it('is refused while another open Tasker counts into it, and free again once that one closed', async () => {
    const host = new Registry();
    const first = await startEngine(
      SHOP,
      { check: () => true, reserve: () => true },
      { telemetry: { registry: host } },
    );
    const err = await startEngine(
      SHOP,
      { check: () => true, reserve: () => true },
      { telemetry: { registry: host } },
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((err as Error).message).toContain(
      'telemetry.registry: the registry already holds tasker_* metrics',
    );
    await first.tasker.close();
    expect(host.getSingleMetric('tasker_tasks_total')).toBeUndefined();
    const second = await startEngine(
      SHOP,
      { check: () => true, reserve: () => true },
      { telemetry: { registry: host } },
    );
    expect(second.tasker.metrics).toBe(host);
    expect(host.getSingleMetric('tasker_tasks_total')).toBeDefined();
  });
});
