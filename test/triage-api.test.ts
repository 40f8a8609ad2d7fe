/**
 * The triage routes over HTTP, on both stores: failure groups, bulk dry run and job, job progress, audit
 * (refusals by scope, input and namespace included), compare; scopes and namespace limits.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex, type ApiToken } from '../src/api/auth.js';
import { buildServer } from '../src/api/server.js';
import { PermanentError } from '../src/index.js';
import { dumpRows } from './support/rows.js';
import { sleep, startEngine } from './support/harness.js';

const yaml = (namespace: string) => `
namespace: ${namespace}
name: order
version: 1.0.0
business: { value_field: amount, customer_field: customer }
steps:
  - { name: reserve, handler: reserve }
  - { name: charge, handler: charge, depends_on: [reserve] }
`;

const SECRETS = { admin: 'adm-secret-1', reader: 'read-secret-2', shopOps: 'shop-ops-3', analyst: 'ana-4' };
const TOKENS: ApiToken[] = [
  { name: 'admin', tokenSha256: sha256Hex(SECRETS.admin), scopes: ['admin'] },
  { name: 'reader', tokenSha256: sha256Hex(SECRETS.reader), scopes: ['tasks:read', 'analytics:read'] },
  {
    name: 'shop-ops',
    tokenSha256: sha256Hex(SECRETS.shopOps),
    scopes: ['tasks:read', 'tasks:write', 'analytics:read'],
    namespaces: ['shop'],
  },
];
const as = (who: keyof typeof SECRETS) => ({ authorization: `Bearer ${SECRETS[who]}` });

const apps: FastifyInstance[] = [];
afterEach(async () => {
  while (apps.length > 0) await apps.pop()?.close();
});

async function setup() {
  const fault = { on: true };
  const { tasker, database } = await startEngine([yaml('shop'), yaml('billing')], {
    reserve: () => ({ reserved: true }),
    charge: ({ task }) => {
      if (fault.on) throw new PermanentError(`gateway refused order ${String(task.context.order)}`);
      return { ok: true };
    },
  });
  const app = await buildServer(tasker, { processMetrics: false, tokens: TOKENS });
  apps.push(app);
  await app.ready();
  const created = await tasker.createTasks([
    ...[1, 2, 3].map((i) => ({
      namespace: 'shop',
      name: 'order',
      context: { order: i, amount: i * 10, customer: `c${i}` },
    })),
    ...[4, 5].map((i) => ({ namespace: 'billing', name: 'order', context: { order: i, amount: 1000 } })),
  ]);
  for (const c of created) await tasker.waitForTask(c.task.id);
  return { tasker, database, app, fault, ids: created.map((c) => c.task.id) };
}

const json = <T = Record<string, unknown>>(r: LightMyRequestResponse) => r.json<T>();

interface Group {
  fingerprint: string;
  namespace: string;
  tasks: number;
  revenue_at_risk: number;
  workers: Array<{ id: string; host: string | null }>;
}

describe('triage over HTTP', () => {
  it('lists failure groups ranked by money, per token namespace, and one group with its tasks', async () => {
    const { app, ids } = await setup();
    const r = await app.inject({
      url: '/tasker/analytics/failure-groups?time_range=1h',
      headers: as('reader'),
    });
    expect(r.statusCode).toBe(200);
    const body = json<{
      groups: Group[];
      total_tasks: number;
      revenue_at_risk: number;
      bucket_seconds: number;
    }>(r);
    expect(body.groups.map((g) => [g.namespace, g.tasks, g.revenue_at_risk])).toEqual([
      ['billing', 2, 2000],
      ['shop', 3, 60],
    ]);
    expect(body).toMatchObject({ total_tasks: 5, revenue_at_risk: 2060, bucket_seconds: 120 });
    expect(body.groups[1]).toMatchObject({
      step: 'charge',
      error_type: 'PermanentError',
      signature: 'gateway refused order <n>',
      template: 'shop/order@1.0.0',
      affected_customers: 3,
    });
    expect(body.groups[1]?.workers[0]?.host).toEqual(expect.any(String));
    const limited = json<{ groups: Group[] }>(
      await app.inject({ url: '/tasker/analytics/failure-groups', headers: as('shopOps') }),
    );
    expect(limited.groups.map((g) => g.namespace)).toEqual(['shop']);
    const fp = body.groups[1]!.fingerprint;
    const one = json<{ tasks: Array<{ id: string }> }>(
      await app.inject({ url: `/tasker/analytics/failure-groups/${fp}`, headers: as('reader') }),
    );
    expect(one.tasks.map((t) => t.id).sort()).toEqual(ids.slice(0, 3).sort());
    // The billing group does not exist for a shop-only token.
    const billing = body.groups[0]!.fingerprint;
    expect(
      (await app.inject({ url: `/tasker/analytics/failure-groups/${billing}`, headers: as('shopOps') }))
        .statusCode,
    ).toBe(404);
    const bad = await app.inject({
      url: '/tasker/analytics/failure-groups?time_range=forever',
      headers: as('reader'),
    });
    expect(bad.statusCode).toBe(400);
    expect(json(bad).error).toBe('INVALID_ARGUMENT');
  });

  it('dry run writes nothing; the bulk retry runs as a job, acts inside the token namespaces, and is audited', async () => {
    const { app, ids, fault, database, tasker } = await setup();
    const fp = json<{ groups: Group[] }>(
      await app.inject({ url: '/tasker/analytics/failure-groups', headers: as('reader') }),
    ).groups.find((g) => g.namespace === 'shop')!.fingerprint;
    const before = await dumpRows(database);
    const dry = await app.inject({
      method: 'POST',
      url: '/tasker/bulk-actions',
      headers: as('shopOps'),
      payload: { action: 'retry', filter: { status: ['failed'] }, reason: 'gateway back', dry_run: true },
    });
    expect(dry.statusCode).toBe(200);
    expect(json(dry)).toMatchObject({
      dry_run: true,
      matched: 3,
      would_change: 3,
      hidden: 2,
      skipped_count: 0,
      steps: { rerun: { charge: 3 }, kept: { reserve: 3 } },
    });
    expect((json(dry).tasks as Array<{ rerun: string[]; kept: string[] }>)[0]).toMatchObject({
      rerun: ['charge'],
      kept: ['reserve'],
    });
    expect(await dumpRows(database)).toEqual(before);

    fault.on = false;
    const start = await app.inject({
      method: 'POST',
      url: '/tasker/bulk-actions',
      headers: as('shopOps'),
      payload: {
        action: 'retry',
        filter: { failure_group: fp, time_range: '1h' },
        reason: 'gateway back',
        rate_per_second: 500,
      },
    });
    expect(start.statusCode).toBe(202);
    const job = json<{ job: { id: string; status: string; total: number; actor: string } }>(start).job;
    expect(job).toMatchObject({ status: 'running', total: 3, actor: 'shop-ops' });
    let progress: {
      job: { status: string; done: number };
      tasks: Array<{ status: string; task_id: string }>;
    };
    for (;;) {
      progress = json(await app.inject({ url: `/tasker/bulk-actions/${job.id}`, headers: as('reader') }));
      if (progress.job.status !== 'running') break;
      await sleep(20);
    }
    expect(progress.job).toMatchObject({ status: 'completed', done: 3 });
    for (const id of ids.slice(0, 3)) expect((await tasker.waitForTask(id)).status).toBe('complete');
    for (const id of ids.slice(3)) expect((await tasker.getTask(id)).task.status).toBe('error');
    // The shop token sees its job; the list of jobs too.
    const jobs = json<{ jobs: Array<{ id: string }> }>(
      await app.inject({ url: '/tasker/bulk-actions', headers: as('shopOps') }),
    );
    expect(jobs.jobs.map((j) => j.id)).toEqual([job.id]);
    const audit = json<{
      entries: Array<{ action: string; actor: string; job_id: string; task_count: number }>;
    }>(await app.inject({ url: '/tasker/audit', headers: as('shopOps') }));
    expect(audit.entries.map((e) => [e.action, e.actor, e.job_id, e.task_count])).toEqual([
      ['bulk.finished', 'shop-ops', job.id, 0],
      ['bulk.retry', 'shop-ops', job.id, 3],
    ]);
    const perTask = json<{ entries: Array<{ action: string }> }>(
      await app.inject({ url: `/tasker/audit?task_id=${ids[0]}`, headers: as('reader') }),
    );
    expect(perTask.entries.map((e) => e.action)).toEqual(['bulk.retry']);
  });

  it('refuses by scope, input, size and namespace, and audits each refusal by the token name', async () => {
    const { app, ids } = await setup();
    const post = (who: keyof typeof SECRETS, url: string, payload: unknown) =>
      app.inject({ method: 'POST', url, headers: as(who), payload: payload as Record<string, unknown> });
    expect((await post('reader', `/tasker/tasks/${ids[0]}/retry`, { reason: 'r' })).statusCode).toBe(403);
    expect((await post('shopOps', `/tasker/tasks/${ids[3]}/retry`, { reason: 'not mine' })).statusCode).toBe(
      404,
    );
    const noReason = await post('admin', '/tasker/bulk-actions', {
      action: 'cancel',
      filter: { namespace: 'shop' },
    });
    expect(noReason.statusCode).toBe(400);
    expect(json(noReason).message).toContain('reason is required');
    const empty = await post('admin', '/tasker/bulk-actions', { action: 'cancel', filter: {}, reason: 'r' });
    expect(json(empty)).toMatchObject({ error: 'INVALID_ARGUMENT', details: { field: 'filter' } });
    const stepless = await post('admin', '/tasker/bulk-actions', {
      action: 'resolve_step',
      filter: { namespace: 'shop' },
      reason: 'r',
    });
    expect(json(stepless)).toMatchObject({ error: 'INVALID_ARGUMENT', details: { field: 'step' } });
    const many = await post('admin', '/tasker/bulk-actions', {
      action: 'cancel',
      filter: { status: ['failed'] },
      reason: 'r',
      max_tasks: 2,
    });
    expect(many.statusCode).toBe(400);
    expect(json(many)).toMatchObject({
      error: 'TOO_MANY_TASKS',
      details: { field: 'max_tasks', wouldChange: 5 },
    });
    expect((await post('admin', `/tasker/tasks/${ids[0]}/cancel`, { reason: 'fine' })).statusCode).toBe(200);
    expect((await post('admin', `/tasker/tasks/${ids[0]}/retry`, { reason: 'too late' })).statusCode).toBe(
      409,
    );
    // An id that is no task id, and a reason PostgreSQL cannot store as text, are refused and still audited.
    const malformed = await post('admin', '/tasker/tasks/-1/retry', { reason: 'nul \u0000 here' });
    expect(malformed.statusCode).toBe(404);
    const all = json<{
      entries: Array<{
        actor: string;
        action: string;
        outcome: string;
        reason: string | null;
        task_ids: string[];
        detail: { error?: string; given_task_ids?: string[] } | null;
      }>;
    }>(await app.inject({ url: '/tasker/audit?limit=20', headers: as('admin') }));
    expect(all.entries[0]).toMatchObject({
      action: 'task.retry',
      outcome: 'refused',
      task_ids: [],
      detail: { error: 'TASK_NOT_FOUND', given_task_ids: ['-1'] },
    });
    expect(all.entries[0]!.reason).toMatch(/^nul .? here$/);
    all.entries.shift();
    expect(all.entries.map((e) => [e.actor, e.action, e.outcome, e.detail?.error ?? null])).toEqual([
      ['admin', 'task.retry', 'refused', 'ILLEGAL_TRANSITION'],
      ['admin', 'task.cancel', 'ok', null],
      ['admin', 'bulk.cancel', 'refused', 'TOO_MANY_TASKS'],
      ['admin', 'bulk.resolve_step', 'refused', 'INVALID_ARGUMENT'],
      ['admin', 'bulk.cancel', 'refused', 'INVALID_ARGUMENT'],
      ['admin', 'bulk.cancel', 'refused', 'INVALID_ARGUMENT'],
      ['shop-ops', 'task.retry', 'refused', 'TASK_NOT_FOUND'],
      ['reader', 'task.retry', 'refused', 'FORBIDDEN'],
    ]);
    // Keyset paging and the namespace filter of the log itself.
    const page = json<{ entries: Array<{ id: number }>; next_cursor: string }>(
      await app.inject({ url: '/tasker/audit?limit=3', headers: as('admin') }),
    );
    const next = json<{ entries: Array<{ id: number }> }>(
      await app.inject({ url: `/tasker/audit?limit=3&cursor=${page.next_cursor}`, headers: as('admin') }),
    );
    expect(next.entries[0]!.id).toBeLessThan(page.entries[2]!.id);
    const shopOnly = json<{ entries: Array<{ action: string }> }>(
      await app.inject({ url: '/tasker/audit', headers: as('shopOps') }),
    );
    expect(shopOnly.entries.map((e) => e.action)).toEqual(['task.retry', 'task.cancel']);
    expect((await app.inject({ url: '/tasker/audit?outcome=maybe', headers: as('admin') })).statusCode).toBe(
      400,
    );
  });

  it('compares a run with its last good run, within the token namespaces', async () => {
    const { app, ids, fault, tasker } = await setup();
    fault.on = false;
    const { task } = await tasker.createTask({
      namespace: 'shop',
      name: 'order',
      context: { order: 9, amount: 1 },
    });
    await tasker.waitForTask(task.id);
    const r = await app.inject({
      url: `/tasker/tasks/${ids[0]}/compare?with=last_success`,
      headers: as('shopOps'),
    });
    expect(r.statusCode).toBe(200);
    const c = json<{
      baseline: { id: string };
      baseline_choice: string;
      steps: Array<{
        name: string;
        changed: string[];
        run: { status: string; input_hash: string };
        baseline: { status: string };
      }>;
      differences: Array<{ step: string; text: string }>;
    }>(r);
    expect(c.baseline.id).toBe(task.id);
    expect(c.baseline_choice).toBe('same_version');
    expect(c.steps.find((s) => s.name === 'charge')).toMatchObject({
      changed: expect.arrayContaining(['status']),
      run: { status: 'failed' },
      baseline: { status: 'completed' },
    });
    expect(c.differences[0]).toMatchObject({
      step: 'charge',
      text: expect.stringContaining('charge failed (PermanentError) vs completed'),
    });
    // Another namespace's task is neither a run nor a baseline for this token.
    expect(
      (await app.inject({ url: `/tasker/tasks/${ids[3]}/compare`, headers: as('shopOps') })).statusCode,
    ).toBe(404);
    expect(
      (await app.inject({ url: `/tasker/tasks/${ids[0]}/compare?with=${ids[3]}`, headers: as('shopOps') }))
        .statusCode,
    ).toBe(404);
  });
});
