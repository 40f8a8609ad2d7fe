/**
 * The analytics reports (Tasker.businessImpact, Tasker.bottlenecks) aggregate a window in SQL on both
 * stores. Each is checked against the same report computed in memory, by the pure functions, from every
 * task and attempt of the window read back one by one: the SQL must agree on every figure.
 */
import { describe, expect, it } from 'vitest';
import { summarizeBusinessImpact, type FailedTaskSample } from '../src/core/business-impact.js';
import { stepStats } from '../src/core/step-stats.js';
import { PermanentError, TaskerError, type Tasker } from '../src/index.js';
import { sleep, startEngine } from './support/harness.js';

const HOUR = 3_600_000;

const TEMPLATES = [
  `
namespace: shop
name: order
version: 1.0.0
business: { value_field: amount, region_field: geo.region, tier_field: tier, customer_field: customer }
steps:
  - { name: check, handler: check }
  - { name: charge, handler: charge, depends_on: [check], retry: { max_attempts: 2, backoff: { base_seconds: 0.01, jitter: 0 } } }
  - { name: ship, handler: ship, depends_on: [charge] }
`,
  `
namespace: ops
name: sweep
version: 1.0.0
steps:
  - { name: sweep, handler: sweep, retry: { max_attempts: 2, backoff: { base_seconds: 0.01, jitter: 0 } } }
`,
];

type Ctx = Record<string, unknown> & { mode: string; ms: number };

const work = async (ctx: Ctx, fail: boolean, attempt: number) => {
  await sleep(ctx.ms);
  if (fail && (ctx.mode !== 'flaky' || attempt === 1)) throw new PermanentError(`${ctx.mode} failed`);
  return { ok: true };
};

async function setup() {
  // Real time plus an offset: retries wait for their backoff on this clock.
  let offset = 0;
  const h = await startEngine(
    TEMPLATES,
    {
      check: (ctx) =>
        work(ctx.task.context as Ctx, (ctx.task.context as Ctx).mode === 'bad_cart', ctx.step.attempt),
      charge: async (ctx) => {
        const c = ctx.task.context as Ctx;
        await sleep(c.ms);
        if (c.mode === 'declined') throw new Error('card declined');
        if (c.mode === 'flaky' && ctx.step.attempt === 1) throw new Error('gateway 503');
        return { ok: true };
      },
      ship: (ctx) => work(ctx.task.context as Ctx, false, ctx.step.attempt),
      sweep: (ctx) =>
        work(ctx.task.context as Ctx, (ctx.task.context as Ctx).mode === 'declined', ctx.step.attempt),
    },
    { now: () => Date.now() + offset },
  );
  return { ...h, advance: (ms: number) => (offset += ms) };
}

/** Orders whose business fields hold every kind of value the reports must read the same way. */
function orders(n: number): Ctx[] {
  const modes = ['ok', 'ok', 'bad_cart', 'declined', 'flaky', 'declined'];
  const regions: unknown[] = ['EU', 'US', 7, '  ', undefined];
  const amounts: unknown[] = [10.5, '20.25', 'n/a', undefined, 0.75, -3, 3.5];
  const tiers: unknown[] = ['gold', 'silver', undefined, true, 'gold'];
  const customers: unknown[] = ['c-1', 'c-2', 'c-1', undefined, 42];
  return Array.from({ length: n }, (_, i) => {
    const ctx: Ctx = { mode: modes[i % modes.length] as string, ms: (i * 7) % 13 };
    const region = regions[i % regions.length];
    if (region !== undefined) ctx.geo = { region };
    const amount = amounts[i % amounts.length];
    if (amount !== undefined) ctx.amount = amount;
    const tier = tiers[i % tiers.length];
    if (tier !== undefined) ctx.tier = tier;
    const customer = customers[i % customers.length];
    if (customer !== undefined) ctx.customer = customer;
    return ctx;
  });
}

async function settle(tasker: Tasker, ids: string[]) {
  await Promise.all(ids.map((id) => tasker.waitForTask(id, { timeoutMs: 30_000 }).catch(() => null)));
}

/** The reports as the pure functions compute them from the tasks read back one by one. */
async function inMemory(tasker: Tasker, ids: string[]) {
  const details = await tasker.describeTasks(ids);
  const samples: FailedTaskSample[] = details
    .filter((d) => d.task.status === 'error')
    .map((d) => {
      const failed = d.steps.find((s) => s.status === 'error');
      return {
        task: d.task,
        failedStep: failed
          ? { name: failed.name, errorType: failed.errorType, errorMessage: failed.errorMessage }
          : null,
      };
    });
  return {
    impact: summarizeBusinessImpact(samples),
    steps: stepStats(
      details.map((d) => d.task),
      await tasker.attemptsOf(ids),
    ),
  };
}

describe('analytics aggregated in the store', () => {
  it('business impact and bottlenecks equal the in-memory reports of the same tasks, window by window', async () => {
    const { tasker, advance } = await setup();
    const create = async (namespace: string, name: string, list: Ctx[]) =>
      (await tasker.createTasks(list.map((context) => ({ namespace, name, context })))).map((r) => r.task.id);

    // Before the window: must not be counted.
    const old = await create('shop', 'order', orders(12));
    await settle(tasker, old);
    advance(2 * HOUR);
    const shop = await create('shop', 'order', orders(48));
    const ops = await create('ops', 'sweep', orders(18));
    await settle(tasker, [...shop, ...ops]);

    const all = await inMemory(tasker, [...shop, ...ops]);
    expect(all.impact.totalFailedWorkflows).toBeGreaterThan(15);
    expect(Object.keys(all.impact.geographicImpact)).toEqual(
      expect.arrayContaining(['EU', 'US', '7', 'unknown']),
    );
    expect(all.steps.some((s) => s.attempts > s.executions)).toBe(true);
    // Executions count first attempts: the same as the distinct steps that ran.
    const ran = new Map<string, Set<number>>();
    for (const a of await tasker.attemptsOf([...shop, ...ops]))
      ran.set(a.stepName, (ran.get(a.stepName) ?? new Set()).add(a.stepId));
    for (const s of all.steps) expect(s.executions).toBe(ran.get(s.step)?.size);

    const impact = await tasker.businessImpact({ rangeMs: HOUR });
    expect(impact.to - impact.from).toBe(HOUR);
    expect(impact.impact).toEqual(all.impact);
    const bottlenecks = await tasker.bottlenecks({ rangeMs: HOUR });
    expect(bottlenecks.steps).toEqual(all.steps);
    expect(bottlenecks.tasks).toBe(shop.length + ops.length);

    // A three-hour window holds the old tasks too.
    const wide = await inMemory(tasker, [...old, ...shop, ...ops]);
    expect((await tasker.businessImpact({ rangeMs: 3 * HOUR })).impact).toEqual(wide.impact);
    expect((await tasker.bottlenecks({ rangeMs: 3 * HOUR })).steps).toEqual(wide.steps);

    // One namespace, one template, the namespaces a limited caller may read.
    const opsOnly = await inMemory(tasker, ops);
    expect((await tasker.businessImpact({ rangeMs: HOUR, namespace: 'ops' })).impact).toEqual(opsOnly.impact);
    expect((await tasker.bottlenecks({ rangeMs: HOUR, namespaces: ['ops'] })).steps).toEqual(opsOnly.steps);
    const shopOnly = await inMemory(tasker, shop);
    expect((await tasker.bottlenecks({ rangeMs: HOUR, namespace: 'shop', name: 'order' })).steps).toEqual(
      shopOnly.steps,
    );
    const none = await tasker.businessImpact({ rangeMs: HOUR, namespaces: [] });
    expect(none.impact.totalFailedWorkflows).toBe(0);
    expect((await tasker.bottlenecks({ rangeMs: HOUR, namespaces: [] })).steps).toEqual([]);
  });

  it('refuses a bad window or filter with INVALID_ARGUMENT naming the field', async () => {
    const { tasker } = await setup();
    const bad: Array<[unknown, string]> = [
      [{ rangeMs: '1h' }, 'rangeMs'],
      [{ rangeMs: 0 }, 'rangeMs'],
      [{ rangeMs: HOUR, namespace: 5 }, 'namespace'],
      [{ rangeMs: HOUR, name: ['x'] }, 'name'],
      [{ rangeMs: HOUR, namespaces: 'ops' }, 'namespaces'],
      [null, 'rangeMs'],
    ];
    for (const [q, field] of bad) {
      for (const report of ['businessImpact', 'bottlenecks'] as const) {
        const err = await (tasker[report] as (q: unknown) => Promise<unknown>)(q).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TaskerError);
        expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field } });
      }
    }
  });
});
