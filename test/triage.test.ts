/**
 * Incident triage through the library, on both stores: failure groups counted and valued exactly, dry
 * runs that write nothing, bulk jobs that act on every task once, the audit log, and run comparison.
 */
import { describe, expect, it } from 'vitest';
import { PermanentError, TaskerError, type Tasker } from '../src/index.js';
import { dumpRows } from './support/rows.js';
import { FAST_RETRY, sleep, startEngine } from './support/harness.js';

const shop = `
namespace: shop
name: order
version: 1.0.0
business: { value_field: amount, customer_field: customer }
steps:
  - { name: validate, handler: validate }
  - { name: charge, handler: charge, depends_on: [validate], ${FAST_RETRY} }
  - { name: ship, handler: ship, depends_on: [charge], ${FAST_RETRY} }
  - { name: notify, handler: notify, depends_on: [ship] }
`;

class CardDeclined extends PermanentError {
  constructor(message: string) {
    super(message);
    this.name = 'CardDeclined';
  }
}

interface Order {
  order_id: number;
  amount: number | string;
  customer?: string;
  fail?: 'card' | 'ship' | 'ship-typed' | 'flaky';
  delay?: number;
}

function engine(faults: { cleared: boolean }, options: Parameters<typeof startEngine>[2] = {}) {
  const flaky = new Map<number, number>();
  return startEngine(
    shop,
    {
      validate: () => ({ ok: true }),
      charge: ({ task }) => {
        const o = task.context as unknown as Order;
        if (o.fail === 'card' && !faults.cleared)
          throw new CardDeclined(`card declined for order ${o.order_id} after ${o.order_id * 7}ms`);
        return { charged: o.amount };
      },
      ship: async ({ task }) => {
        const o = task.context as unknown as Order;
        if (o.delay) await sleep(o.delay);
        if (o.fail === 'ship' && !faults.cleared)
          throw new PermanentError(`carrier timeout after 30s for order ${o.order_id}`);
        if (o.fail === 'ship-typed' && !faults.cleared) {
          const e = new PermanentError(`carrier timeout after 30s for order ${o.order_id}`);
          e.name = 'CarrierError';
          throw e;
        }
        if (o.fail === 'flaky') {
          const n = (flaky.get(o.order_id) ?? 0) + 1;
          flaky.set(o.order_id, n);
          if (n < 3) throw new Error(`carrier busy (try ${n}) for order ${o.order_id}`);
        }
        return { tracking: `T${o.order_id}` };
      },
      notify: () => ({ sent: true }),
    },
    { concurrency: 8, ...options },
  );
}

async function run(tasker: Tasker, orders: Order[]): Promise<string[]> {
  const created = await tasker.createTasks(
    orders.map((o) => ({ namespace: 'shop', name: 'order', context: { ...o } })),
  );
  for (const c of created) await tasker.waitForTask(c.task.id, { timeoutMs: 20_000 });
  return created.map((c) => c.task.id);
}

async function waitForJob(tasker: Tasker, id: string) {
  for (let i = 0; i < 400; i++) {
    const j = await tasker.getBulkJob(id);
    if (j.job.status !== 'running') return j;
    await sleep(25);
  }
  throw new Error(`bulk job ${id} still running`);
}

const HOUR = 3_600_000;

describe('failure groups', () => {
  it('groups failures by cause, counts tasks and money exactly, and ranks by revenue at risk', async () => {
    const { tasker } = await engine({ cleared: false });
    const ids = await run(tasker, [
      { order_id: 101, amount: 10, customer: 'c1', fail: 'card' },
      { order_id: 202, amount: '20.5', customer: 'c1', fail: 'card' },
      { order_id: 303, amount: 30, customer: 'c2', fail: 'card' },
      { order_id: 404, amount: 100, customer: 'c3', fail: 'ship' },
      { order_id: 505, amount: 200, fail: 'ship' },
      { order_id: 606, amount: 999, customer: 'c9', fail: 'ship-typed' },
      { order_id: 707, amount: 5, customer: 'c7', fail: 'flaky' },
      { order_id: 808, amount: 1, customer: 'c8' },
    ]);
    const report = await tasker.failureGroups({ rangeMs: HOUR });
    const groups = report.groups;
    // Same message, other error type: its own group, and the most money, so first.
    expect(
      groups.map((g) => [g.step, g.errorType, g.signature, g.tasks, g.revenueAtRisk, g.affectedCustomers]),
    ).toEqual([
      ['ship', 'CarrierError', 'carrier timeout after <n>s for order <n>', 1, 999, 1],
      ['ship', 'PermanentError', 'carrier timeout after <n>s for order <n>', 2, 300, 2],
      ['charge', 'CardDeclined', 'card declined for order <n> after <n>ms', 3, 60.5, 2],
      ['ship', 'Error', 'carrier busy (try <n>) for order <n>', 1, 0, 0],
    ]);
    const card = groups[2]!;
    expect(card.kind).toBe('failure');
    expect(card.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(card.byStatus).toEqual({ failed: 3, retrying: 0, recovered: 0, cancelled: 0, stuck: 0 });
    expect(card.attempts).toBe(3);
    expect([...card.exampleTaskIds].sort()).toEqual([ids[0], ids[1], ids[2]].sort());
    expect(card.versions).toEqual(['1.0.0']);
    expect(card.workers).toHaveLength(1);
    expect(card.ongoing).toBe(true);
    expect(card.series.reduce((a, b) => a + b, 0)).toBe(3);
    expect(card.message).toMatch(/^card declined for order \d+ after \d+ms$/);
    expect(card.suggestedAction).toContain('retry the 3 failed tasks in bulk');
    // The flaky step failed twice, then the task completed: recovered, nothing at risk.
    const flaky = groups[3]!;
    expect(flaky.byStatus.recovered).toBe(1);
    expect(flaky.attempts).toBe(2);
    // The sparkline counts failing attempts: two for its one task.
    expect(flaky.series.reduce((a, b) => a + b, 0)).toBe(2);
    // Filters and namespace limits.
    expect((await tasker.failureGroups({ rangeMs: HOUR, namespaces: ['other'] })).groups).toEqual([]);
    expect((await tasker.failureGroups({ rangeMs: HOUR, name: 'nope' })).groups).toEqual([]);
    const one = await tasker.failureGroup(card.fingerprint, { rangeMs: HOUR });
    expect(one.tasks.map((t) => t.id).sort()).toEqual([ids[0], ids[1], ids[2]].sort());
    await expect(tasker.failureGroup('0000000000000000', { rangeMs: HOUR })).rejects.toMatchObject({
      code: 'FAILURE_GROUP_NOT_FOUND',
    });
    await expect(tasker.failureGroups({ rangeMs: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('reports tasks that make no progress as stuck', async () => {
    let offset = 0;
    const { tasker } = await startEngine(
      `
namespace: shop
name: slow
version: 2.0.0
business: { value_field: amount }
steps:
  - { name: first, handler: first, timeout_seconds: 1 }
`,
      { first: () => 1 },
      { start: false, now: () => Date.now() + offset },
    );
    const { task } = await tasker.createTask({ namespace: 'shop', name: 'slow', context: { amount: 42 } });
    expect((await tasker.failureGroups({ rangeMs: HOUR })).groups).toEqual([]);
    offset = 2 * 60_000; // past the 1 s timeout and the minute of grace
    const [g] = (await tasker.failureGroups({ rangeMs: HOUR })).groups;
    expect(g).toMatchObject({
      kind: 'stuck',
      step: 'first',
      errorType: 'stuck',
      signature: 'ready but not claimed by any worker',
      tasks: 1,
      revenueAtRisk: 42,
      exampleTaskIds: [task.id],
    });
    expect(g?.suggestedAction).toContain('no live worker claims first');
    const one = await tasker.failureGroup(g!.fingerprint, { rangeMs: HOUR });
    expect(one.tasks.map((t) => t.id)).toEqual([task.id]);
  });
});

describe('bulk actions', () => {
  it('a dry run writes nothing, then one bulk retry completes every task of the group, once each', async () => {
    const faults = { cleared: false };
    const { tasker, database } = await engine(faults);
    const ids = await run(tasker, [
      { order_id: 1, amount: 10, fail: 'card' },
      { order_id: 2, amount: 20, fail: 'card' },
      { order_id: 3, amount: 30, fail: 'card' },
      { order_id: 4, amount: 40, fail: 'ship' },
      { order_id: 5, amount: 50 },
    ]);
    const card = (await tasker.failureGroups({ rangeMs: HOUR })).groups.find((g) => g.step === 'charge')!;
    const before = await dumpRows(database);
    const preview = await tasker.previewBulkAction({
      spec: { action: 'retry' },
      filter: { failureGroup: card.fingerprint },
      reason: 'card processor fixed',
      actor: 'alice',
    });
    expect(preview).toMatchObject({
      matched: 3,
      wouldChange: 3,
      exceedsMaxTasks: false,
      hidden: 0,
      skipped: [],
    });
    expect(preview.first).toEqual({ charge: 3, ship: 3, notify: 3 });
    expect(preview.second).toEqual({ validate: 3 });
    // Broader filter: the completed and the other failed task are listed, the completed one skipped.
    const wide = await tasker.previewBulkAction({
      spec: { action: 'retry' },
      filter: { namespace: 'shop' },
      reason: 'x',
    });
    expect(wide.wouldChange).toBe(4);
    expect(wide.skipped).toEqual([
      {
        taskId: ids[4],
        status: 'complete',
        reason: 'not_failed',
        message: 'task is complete; only failed tasks are retried',
      },
    ]);
    expect(await dumpRows(database)).toEqual(before);

    faults.cleared = true;
    const job = await tasker.startBulkAction({
      spec: { action: 'retry' },
      filter: { failureGroup: card.fingerprint },
      reason: 'card processor fixed',
      actor: 'alice',
      ratePerSecond: 1000,
    });
    expect(job).toMatchObject({ status: 'running', action: 'retry', actor: 'alice', counts: { pending: 3 } });
    const done = await waitForJob(tasker, job.id);
    expect(done.job.status).toBe('completed');
    expect(done.job.counts).toEqual({ pending: 0, done: 3, skipped: 0, failed: 0 });
    expect(done.items.map((i) => i.status)).toEqual(['done', 'done', 'done']);
    for (const id of ids.slice(0, 3)) {
      const t = await tasker.waitForTask(id, { timeoutMs: 10_000 });
      expect(t.status).toBe('complete');
      const retries = (await tasker.getTransitions(id)).filter((x) => x.reason === 'card processor fixed');
      expect(retries).toHaveLength(1);
    }
    expect((await tasker.getTask(ids[3]!)).task.status).toBe('error');
    const audit = await tasker.listAudit({ actor: 'alice' });
    expect(audit.map((a) => [a.action, a.outcome, a.jobId])).toEqual([
      ['bulk.finished', 'ok', job.id],
      ['bulk.retry', 'ok', job.id],
    ]);
    expect(audit[1]).toMatchObject({ reason: 'card processor fixed', namespace: 'shop', taskCount: 3 });
    expect([...audit[1]!.taskIds].sort()).toEqual(ids.slice(0, 3).sort());
    expect(audit[1]!.filter).toEqual({ failureGroup: card.fingerprint });
    expect((await tasker.listAudit({ taskId: ids[0] })).map((a) => a.action)).toEqual(['bulk.retry']);
  });

  it('cancels and resolves in bulk, stops a job mid-way, and honours namespace limits', async () => {
    const { tasker } = await engine({ cleared: false });
    const ids = await run(tasker, [
      { order_id: 1, amount: 1, fail: 'ship' },
      { order_id: 2, amount: 2, fail: 'ship' },
      { order_id: 3, amount: 3, fail: 'ship' },
      { order_id: 4, amount: 4, fail: 'ship' },
    ]);
    const resolvePlan = await tasker.previewBulkAction({
      spec: { action: 'resolve_step', step: 'ship', results: { tracking: 'manual' } },
      filter: { taskIds: [ids[0]!] },
      reason: 'shipped by hand',
    });
    expect(resolvePlan.first).toEqual({ ship: 1 });
    expect(resolvePlan.second).toEqual({ notify: 1 });
    const resolved = await tasker.startBulkAction({
      spec: { action: 'resolve_step', step: 'ship', results: { tracking: 'manual' } },
      filter: { taskIds: [ids[0]!] },
      reason: 'shipped by hand',
      ratePerSecond: 1000,
    });
    expect((await waitForJob(tasker, resolved.id)).job.counts.done).toBe(1);
    expect((await tasker.waitForTask(ids[0]!, { timeoutMs: 10_000 })).status).toBe('complete');

    // Another namespace's token sees none of these tasks: they read as not found.
    const limited = await tasker.previewBulkAction({
      spec: { action: 'cancel' },
      filter: { taskIds: ids },
      reason: 'x',
      namespaces: ['other'],
    });
    expect(limited.wouldChange).toBe(0);
    expect(limited.skipped.map((s) => s.reason)).toEqual([
      'not_visible',
      'not_visible',
      'not_visible',
      'not_visible',
    ]);
    const hidden = await tasker.previewBulkAction({
      spec: { action: 'cancel' },
      filter: { status: ['error'] },
      reason: 'x',
      namespaces: ['other'],
    });
    expect(hidden).toMatchObject({ matched: 0, hidden: 3, wouldChange: 0 });

    const slow = await tasker.startBulkAction({
      spec: { action: 'cancel' },
      filter: { taskIds: ids.slice(1) },
      reason: 'giving up',
      ratePerSecond: 2,
    });
    for (let i = 0; i < 100 && (await tasker.getBulkJob(slow.id)).job.counts.done < 1; i++) await sleep(20);
    const stopped = await tasker.stopBulkJob(slow.id, 'enough', { actor: 'bob' });
    expect(stopped.status).toBe('stopped');
    expect(stopped.counts.done).toBeGreaterThanOrEqual(1);
    expect(stopped.counts.done + stopped.counts.skipped).toBe(3);
    const cancelled = (await tasker.taskSnapshots(ids.slice(1))).filter((s) => s.task.status === 'cancelled');
    expect(cancelled).toHaveLength(stopped.counts.done);
    await expect(tasker.stopBulkJob(slow.id, 'again')).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    await expect(tasker.getBulkJob('nope')).rejects.toMatchObject({ code: 'BULK_JOB_NOT_FOUND' });
  });

  it('refuses bad requests and too many tasks with the field named, and audits the refusal', async () => {
    const { tasker } = await engine({ cleared: false });
    await run(tasker, [
      { order_id: 1, amount: 1, fail: 'card' },
      { order_id: 2, amount: 2, fail: 'card' },
    ]);
    const base = { spec: { action: 'retry' as const }, reason: 'r', actor: 'carol' };
    await expect(tasker.startBulkAction({ ...base, filter: {} })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { field: 'filter' },
    });
    await expect(
      tasker.startBulkAction({ ...base, filter: { namespace: 'shop' }, reason: ' ' }),
    ).rejects.toMatchObject({
      details: { field: 'reason' },
    });
    await expect(
      tasker.startBulkAction({
        ...base,
        spec: { action: 'explode' } as never,
        filter: { namespace: 'shop' },
      }),
    ).rejects.toMatchObject({ details: { field: 'action' } });
    await expect(
      tasker.startBulkAction({ ...base, filter: { namespace: 'shop' }, maxTasks: 1 }),
    ).rejects.toMatchObject({
      code: 'TOO_MANY_TASKS',
      details: { field: 'max_tasks', wouldChange: 2 },
    });
    await expect(tasker.startBulkAction(null as never)).rejects.toBeInstanceOf(TaskerError);
    const refused = await tasker.listAudit({ actor: 'carol', outcome: 'refused' });
    expect(refused.map((a) => [a.action, (a.detail as { error: string }).error])).toEqual([
      ['bulk.retry', 'TOO_MANY_TASKS'],
      ['bulk.unknown', 'INVALID_ARGUMENT'],
      ['bulk.retry', 'INVALID_ARGUMENT'],
      ['bulk.retry', 'INVALID_ARGUMENT'],
    ]);
    expect(await tasker.listBulkJobs()).toEqual([]);
  });
});

describe('audit log', () => {
  it('records every single action with its actor and reason, refused ones included', async () => {
    const { tasker } = await engine({ cleared: false });
    const [failed, done] = await run(tasker, [
      { order_id: 1, amount: 1, fail: 'card' },
      { order_id: 2, amount: 2 },
    ]);
    await tasker.retryTask(failed!, 'try again', { actor: 'dave' });
    await tasker.waitForTask(failed!, { timeoutMs: 10_000 });
    // Nothing runs the steps the resolution unblocks, so the task is still there to cancel below.
    await tasker.stop();
    await tasker.resolveStep(
      failed!,
      'charge',
      { charged: 1 },
      { actor: 'dave', reason: 'charged by phone' },
    );
    await expect(tasker.retryTask(done!, 'why not', { actor: 'dave' })).rejects.toMatchObject({
      code: 'ILLEGAL_TRANSITION',
    });
    await expect(
      tasker.cancelTask('00000000-0000-7000-8000-000000000000', 'x', { actor: 'dave' }),
    ).rejects.toMatchObject({
      code: 'TASK_NOT_FOUND',
    });
    await tasker.cancelTask(failed!, 'customer left');
    const entries = await tasker.listAudit({});
    expect(entries.map((e) => [e.actor, e.action, e.outcome, e.reason])).toEqual([
      ['library', 'task.cancel', 'ok', 'customer left'],
      ['dave', 'task.cancel', 'refused', 'x'],
      ['dave', 'task.retry', 'refused', 'why not'],
      ['dave', 'step.resolve', 'ok', 'charged by phone'],
      ['dave', 'task.retry', 'ok', 'try again'],
    ]);
    expect(entries[3]).toMatchObject({ taskIds: [failed], namespace: 'shop', detail: { step: 'charge' } });
    expect(entries[2]?.detail).toMatchObject({ error: 'ILLEGAL_TRANSITION' });
    expect((await tasker.listAudit({ taskId: failed })).map((e) => e.action)).toEqual([
      'task.cancel',
      'step.resolve',
      'task.retry',
    ]);
    const page = await tasker.listAudit({ limit: 2 });
    expect((await tasker.listAudit({ beforeId: page[1]!.id })).map((e) => e.id)).toEqual(
      entries.slice(2).map((e) => e.id),
    );
    await expect(tasker.listAudit({ limit: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('compare with the last good run', () => {
  it('names the slow step and the failed one against the most recent completed run', async () => {
    const { tasker } = await engine({ cleared: false });
    const [good] = await run(tasker, [{ order_id: 1, amount: 1, delay: 5 }]);
    const [slow] = await run(tasker, [{ order_id: 2, amount: 1, delay: 600 }]);
    const [failed] = await run(tasker, [{ order_id: 3, amount: 1, fail: 'card' }]);
    const c = await tasker.compareTask(slow!);
    expect(c.baseline?.id).toBe(good);
    expect(c.choice).toBe('same_version');
    expect(c.differences[0]?.step).toBe('ship');
    expect(c.differences[0]?.text).toMatch(/^ship execution \d{3} ms vs \d+ ms \(×\d+\)/);
    const ship = c.steps.find((s) => s.name === 'ship')!;
    expect(ship.changed).toContain('execution');
    expect(ship.run.executionMs).toBeGreaterThanOrEqual(600);
    expect(ship.run.inputHash).toMatch(/^[0-9a-f]{12}$/);
    expect(c.steps.find((s) => s.name === 'validate')!.run.resultsHash).toBe(
      c.steps.find((s) => s.name === 'validate')!.baseline!.resultsHash,
    );
    // The failed run: its baseline is the latest completed one (slow), and the failure comes first.
    const f = await tasker.compareTask(failed!);
    expect(f.baseline?.id).toBe(slow);
    expect(f.differences[0]).toMatchObject({ step: 'charge', fields: expect.arrayContaining(['status']) });
    expect(f.differences[0]?.text).toContain('charge failed (CardDeclined) vs completed');
    const given = await tasker.compareTask(failed!, { taskId: good! });
    expect(given.choice).toBe('given');
    expect(given.baseline?.id).toBe(good);
    await expect(tasker.compareTask(failed!, { taskId: 'nope' })).rejects.toMatchObject({
      code: 'TASK_NOT_FOUND',
    });
  });

  it('falls back to another version, and says when there is nothing to compare with', async () => {
    const v2 = shop.replace('version: 1.0.0', 'version: 2.0.0');
    const handlers = {
      validate: () => 1,
      charge: () => {
        throw new PermanentError('no');
      },
      ship: () => 1,
      notify: () => 1,
    };
    const { tasker } = await startEngine([shop, v2], handlers);
    const first = await tasker.createTask({
      namespace: 'shop',
      name: 'order',
      version: '2.0.0',
      context: { amount: 1 },
    });
    await tasker.waitForTask(first.task.id);
    const none = await tasker.compareTask(first.task.id);
    expect(none).toMatchObject({ choice: 'none', baseline: null, differences: [] });
    expect(none.note).toBe('no completed run of shop/order to compare with');
    const ok = await tasker.createTask({
      namespace: 'shop',
      name: 'order',
      version: '1.0.0',
      context: { amount: 1 },
    });
    await tasker.resolveStep((await tasker.waitForTask(ok.task.id)).id, 'charge', null);
    await tasker.waitForTask(ok.task.id);
    const other = await tasker.compareTask(first.task.id);
    expect(other.choice).toBe('other_version');
    expect(other.note).toContain('another version (1.0.0)');
  });
});
