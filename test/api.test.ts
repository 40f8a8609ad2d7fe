/**
 * The HTTP API against a real engine on either store: every route, every list filter alone and combined,
 * pagination, analysis and business figures checked exactly against tasks built here, the seed's curl
 * commands against a listening server, and mounting the plugin into a host Fastify app.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/api/auth.js';
import { buildServer, serve, taskerPlugin } from '../src/fastify.js';
import type { StepHandlerContext, Tasker } from '../src/index.js';
import { main } from '../src/cli/main.js';
import { FAST_RETRY, nextEvent, sleep, startEngine, tempDir } from './support/harness.js';

const SHOP = `
namespace: shop
name: order
version: 1.0.0
context_schema:
  type: object
  required: [order_id]
  properties:
    order_id: { type: string }
    value: { type: number }
    fail: { enum: [timeout, boom] }
business: { value_field: value, tier_field: tier, region_field: geo.region, customer_field: customer }
steps:
  - { name: check, handler: check }
  - name: reserve
    handler: reserve
    depends_on: [check]
    timeout_seconds: 0.15
    handler_config: { service: stock-service }
    ${FAST_RETRY.replace('max_attempts: 3', 'max_attempts: 2')}
  - { name: ship, handler: ship, depends_on: [reserve] }
`;

const BILLING = `
namespace: billing
name: invoice
version: 2.0.0
steps:
  - { name: draft, handler: check }
  - { name: send, handler: ship, depends_on: [draft] }
`;

const handlers = {
  check: () => ({ ok: true }),
  reserve: ({ task: { context }, signal }: StepHandlerContext) => {
    if (context.fail === 'boom') throw new Error('stock service said no');
    if (context.fail === 'timeout')
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    return { reserved: true };
  },
  ship: () => ({ shipped: true }),
};

const execFileAsync = promisify(execFile);
const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function api(tasker: Tasker, options: Parameters<typeof buildServer>[1] = {}) {
  const app = await buildServer(tasker, { processMetrics: false, ...options });
  apps.push(app);
  const call = async (
    method: 'GET' | 'POST',
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const r = await app.inject({ method, url, payload: body as object | undefined, headers });
    return { status: r.statusCode, body: r.json<Record<string, any>>(), headers: r.headers };
  };
  return {
    app,
    get: (url: string, headers?: Record<string, string>) => call('GET', url, undefined, headers),
    post: (url: string, body?: unknown, headers?: Record<string, string>) =>
      call('POST', url, body ?? {}, headers),
  };
}

interface Order {
  order_id: string;
  value?: number;
  tier?: string;
  geo?: { region: string };
  customer?: string;
  fail?: 'timeout' | 'boom';
}

async function runOrders(tasker: Tasker, orders: Order[], tags: string[] = []) {
  const created = await tasker.createTasks(
    orders.map((context) => ({ namespace: 'shop', name: 'order', context: { ...context }, tags })),
  );
  for (const c of created) await tasker.waitForTask(c.task.id, { timeoutMs: 20_000, pollMs: 20 });
  return created.map((c) => c.task.id);
}

describe('HTTP API', () => {
  it('POST /tasks creates (201), honours the correlation header, replays idempotency keys (200), validates', async () => {
    const { tasker } = await startEngine(SHOP, handlers, { start: false });
    const { post, get } = await api(tasker);
    const r = await post(
      '/tasker/tasks',
      {
        namespace: 'shop',
        name: 'order',
        context: { order_id: 'o-1' },
        idempotency_key: 'k-1',
        tags: ['web'],
      },
      { 'x-correlation-id': 'checkout-abc' },
    );
    expect(r.status).toBe(201);
    expect(r.headers['x-correlation-id']).toBe('checkout-abc');
    expect(r.body).toMatchObject({
      namespace: 'shop',
      name: 'order',
      version: '1.0.0',
      full_name: 'shop.order@1.0.0',
      status: 'pending',
      correlation_id: 'checkout-abc',
      tags: ['web'],
      created: true,
    });
    const again = await post('/tasker/tasks', {
      namespace: 'shop',
      name: 'order',
      context: { order_id: 'o-1' },
      idempotency_key: 'k-1',
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: r.body.id, created: false });
    // The body's correlation id wins over the header; without either one is generated.
    const own = await post('/tasker/tasks', {
      namespace: 'shop',
      name: 'order',
      context: { order_id: 'o-2' },
      correlation_id: 'mine',
    });
    expect(own.body.correlation_id).toBe('mine');
    const gen = await post('/tasker/tasks', {
      namespace: 'shop',
      name: 'order',
      context: { order_id: 'o-3' },
    });
    expect(gen.body.correlation_id).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]*$/);
    expect(gen.headers['x-correlation-id']).toBe(gen.body.correlation_id);

    const bad = await post('/tasker/tasks', {
      namespace: 'shop',
      name: 'order',
      context: { value: 'x', fail: 'no' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('CONTEXT_INVALID');
    const paths = (bad.body.details.issues as Array<{ path: string }>).map((i) => i.path).sort();
    expect(paths).toEqual(['context.fail', 'context.order_id', 'context.value']);
    expect((await post('/tasker/tasks', { namespace: 'shop', name: 'nope' })).body.error).toBe(
      'TEMPLATE_NOT_FOUND',
    );
    expect((await get(`/tasker/tasks/${r.body.id}`)).status).toBe(200);
  });

  it('GET /tasks: every filter alone and combined, newest first, stable cursor pages while tasks are created', async () => {
    const { tasker } = await startEngine([SHOP, BILLING], handlers);
    const { get } = await api(tasker);
    const ok = await runOrders(tasker, [{ order_id: 'a' }, { order_id: 'b' }], ['vip']);
    const failed = await runOrders(tasker, [{ order_id: 'c', fail: 'boom' }]);
    const t0 = Date.now();
    await sleep(5);
    const inv = await tasker.createTask({
      namespace: 'billing',
      name: 'invoice',
      correlationId: 'journey-7',
    });
    await tasker.waitForTask(inv.task.id, { timeoutMs: 10_000, pollMs: 20 });
    const ids = (r: { body: Record<string, any> }) =>
      (r.body.tasks as Array<{ id: string }>).map((t) => t.id);

    expect(ids(await get('/tasker/tasks'))).toEqual([inv.task.id, ...failed, ...[...ok].reverse()]);
    expect(ids(await get('/tasker/tasks?status=failed'))).toEqual(failed);
    expect(ids(await get('/tasker/tasks?status=error'))).toEqual(failed); // internal word accepted
    expect(new Set(ids(await get('/tasker/tasks?status=completed&status=failed')))).toEqual(
      new Set([...ok, ...failed, inv.task.id]),
    );
    expect(ids(await get('/tasker/tasks?status=completed,failed&namespace=shop')).length).toBe(3);
    expect(ids(await get('/tasker/tasks?namespace=billing'))).toEqual([inv.task.id]);
    expect(ids(await get('/tasker/tasks?name=order')).length).toBe(3);
    expect(ids(await get('/tasker/tasks?version=2.0.0'))).toEqual([inv.task.id]);
    expect(ids(await get('/tasker/tasks?correlation_id=journey-7'))).toEqual([inv.task.id]);
    expect(new Set(ids(await get('/tasker/tasks?tag=vip')))).toEqual(new Set(ok));
    expect(ids(await get('/tasker/tasks?tag=vip&status=failed'))).toEqual([]);
    expect(ids(await get(`/tasker/tasks?created_after=${new Date(t0).toISOString()}`))).toEqual([
      inv.task.id,
    ]);
    expect(ids(await get(`/tasker/tasks?created_before=${t0}`)).length).toBe(3);
    expect(
      ids(await get(`/tasker/tasks?created_before=${t0}&namespace=shop&status=completed&tag=vip`)).length,
    ).toBe(2);
    const withDeps = await get('/tasker/tasks?status=failed&include_dependencies=true');
    expect(withDeps.body.tasks[0].dependencies).toMatchObject({
      bottleneck_step: 'reserve',
      blocked_steps: ['ship'],
    });

    // Pages of 2 while new tasks keep arriving: no task is skipped or repeated, new ones never appear.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(`/tasker/tasks?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...ids(page));
      cursor = page.body.next_cursor as string | null;
      await tasker.createTask({ namespace: 'billing', name: 'invoice' });
    } while (cursor);
    expect(seen).toEqual([inv.task.id, ...failed, ...[...ok].reverse()]);

    // One status pages newest first too (PostgreSQL words it as a range on the status indexes).
    const completed: string[] = [];
    do {
      const page = await get(
        `/tasker/tasks?status=completed&namespace=shop&name=order&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      completed.push(...ids(page));
      cursor = page.body.next_cursor as string | null;
    } while (cursor);
    expect(completed).toEqual([...ok].reverse());
  });

  it('GET /tasks/:id names the bottleneck, blocked steps, critical path and a suggested action; business figures', async () => {
    const { tasker } = await startEngine(SHOP, handlers);
    const { get } = await api(tasker);
    const [id] = await runOrders(tasker, [
      {
        order_id: 'o-9',
        value: 120.5,
        tier: 'premium',
        geo: { region: 'europe' },
        customer: 'c-1',
        fail: 'timeout',
      },
    ]);
    const r = await get(`/tasker/tasks/${id}?include_dependencies=true&include_business_metrics=true`);
    expect(r.status).toBe(200);
    const reserve = (r.body.steps as Array<Record<string, unknown>>).find((s) => s.name === 'reserve');
    expect(reserve).toMatchObject({
      status: 'failed',
      error_type: 'timeout',
      attempts: 2,
      retry_attempts: 1,
    });
    expect(reserve?.failed_at).toEqual(expect.any(String));
    expect((r.body.steps as Array<Record<string, unknown>>).find((s) => s.name === 'ship')).toMatchObject({
      status: 'blocked',
      blocked_by: ['reserve'],
    });
    expect(r.body).toMatchObject({
      status: 'failed',
      full_name: 'shop.order@1.0.0',
      performance_metrics: {
        steps_completed: 1,
        steps_failed: 1,
        retry_attempts: 1,
        bottleneck_step: 'reserve',
      },
      dependencies: {
        bottleneck_identified: true,
        bottleneck_step: 'reserve',
        blocked_steps: ['ship'],
        critical_path: ['check', 'reserve', 'ship'],
      },
      business_context: { value: 120.5, tier: 'premium', region: 'europe', customer: 'c-1' },
      failure_impact: {
        category: 'revenue_loss',
        revenue_at_risk: 120.5,
        failed_step: 'reserve',
        error_type: 'timeout',
      },
    });
    // Derived from the data: the service named in handler_config, the 0.15 s timeout, the attempts.
    expect(r.body.dependencies.suggested_action).toMatch(/stock-service/);
    expect(r.body.dependencies.suggested_action).toMatch(/150 ms timeout of reserve/);
    expect(r.body.dependencies.suggested_action).toMatch(/2 of 2 attempts/);
    expect(r.body.dependencies.analysis).toMatch(/reserve timed out/);

    const tr = await get(`/tasker/tasks/${id}/transitions`);
    const states = (tr.body.transitions as Array<{ step_name: string | null; to_state: string }>).map(
      (t) => `${t.step_name ?? 'task'}:${t.to_state}`,
    );
    expect(states[0]).toBe('task:pending');
    expect(states).toContain('reserve:waiting_for_retry');
    expect(states.at(-1)).toBe('task:failed');
  });

  it('operator actions: retry a failed task, resolve a step by hand, cancel a running task', async () => {
    let failNext = true;
    const { tasker } = await startEngine(SHOP, {
      ...handlers,
      reserve: () => {
        if (failNext)
          throw Object.assign(new Error('no stock'), { name: 'PermanentError', retryable: false });
        return { reserved: true };
      },
    });
    const { post, get } = await api(tasker);
    const [id] = await runOrders(tasker, [{ order_id: 'r-1' }]);
    expect((await get(`/tasker/tasks/${id}`)).body.status).toBe('failed');
    failNext = false;
    const retried = await post(`/tasker/tasks/${id}/retry`, { reason: 'stock arrived' });
    expect(retried.status).toBe(200);
    expect((await tasker.waitForTask(id ?? '', { timeoutMs: 10_000, pollMs: 20 })).status).toBe('complete');
    expect((await post(`/tasker/tasks/${id}/retry`, {})).status).toBe(409);

    failNext = true;
    const [id2] = await runOrders(tasker, [{ order_id: 'r-2' }]);
    const resolved = await post(`/tasker/tasks/${id2}/steps/reserve/resolve`, {
      results: { reserved: 'by hand' },
    });
    expect(resolved.status).toBe(200);
    expect((await tasker.waitForTask(id2 ?? '', { timeoutMs: 10_000, pollMs: 20 })).status).toBe('complete');
    expect((await post(`/tasker/tasks/${id2}/steps/nope/resolve`, {})).body.error).toBe('STEP_NOT_FOUND');

    const running = nextEvent(tasker, 'step.started', (e) => e.payload.step_name === 'reserve');
    const slow = await tasker.createTask({
      namespace: 'shop',
      name: 'order',
      context: { order_id: 'r-3', fail: 'timeout' },
    });
    await running;
    const cancelled = await post(`/tasker/tasks/${slow.task.id}/cancel`, { reason: 'customer left' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
  });

  it('GET /analytics/business-impact: figures equal the failed orders built here', async () => {
    const { tasker } = await startEngine([SHOP, BILLING], handlers);
    const { get } = await api(tasker);
    const failed: Order[] = [
      {
        order_id: 'f1',
        value: 100,
        tier: 'premium',
        geo: { region: 'europe' },
        customer: 'c1',
        fail: 'timeout',
      },
      {
        order_id: 'f2',
        value: 50.25,
        tier: 'standard',
        geo: { region: 'europe' },
        customer: 'c2',
        fail: 'boom',
      },
      {
        order_id: 'f3',
        value: 10,
        tier: 'premium',
        geo: { region: 'asia' },
        customer: 'c1',
        fail: 'timeout',
      },
    ];
    await runOrders(tasker, [...failed, { order_id: 'ok', value: 999, tier: 'premium', customer: 'c9' }]);
    const r = await get('/tasker/analytics/business-impact?time_range=1h&namespace=shop');
    expect(r.status).toBe(200);
    expect(r.body.namespace).toBe('shop');
    expect(r.body.time_range).toMatch(/^\d{4}-.*Z to \d{4}-.*Z$/);
    expect(r.body.impact_analysis).toEqual({
      total_failed_workflows: 3,
      estimated_revenue_loss: 160.25,
      affected_customers: 2,
      geographic_impact: { europe: 150.25, asia: 10 },
      customer_tier_impact: { premium: 110, standard: 50.25 },
      failure_categories: { 'reserve:timeout': 2, 'reserve:Error': 1 },
    });
    expect(r.body.recommendations[0]).toMatch(/reserve.*timeout|timeout.*reserve/);
    expect(r.body.recommendations[0]).toMatch(/stock-service/);
    // Another namespace, another window: nothing.
    expect(
      (await get('/tasker/analytics/business-impact?namespace=billing')).body.impact_analysis
        .total_failed_workflows,
    ).toBe(0);
  });

  it('GET /analytics/bottlenecks: per-step counts, rates and percentiles from the stored attempts', async () => {
    const { tasker } = await startEngine(SHOP, handlers);
    const { get } = await api(tasker);
    const ids = await runOrders(tasker, [
      { order_id: 'b1' },
      { order_id: 'b2' },
      { order_id: 'b3', fail: 'boom' },
      { order_id: 'b4', fail: 'timeout' },
    ]);
    const r = await get('/tasker/analytics/bottlenecks?time_range=15m&namespace=shop&name=order');
    const rows = r.body.steps as Array<Record<string, number | string>>;
    const reserve = rows.find((s) => s.step === 'reserve');
    // reserve ran in 4 tasks: 2 ok, 1 failed twice (Error), 1 timed out twice.
    expect(reserve).toMatchObject({
      executions: 4,
      attempts: 6,
      failure_rate: 0.67,
      retry_rate: 0.5,
      timeouts: 2,
    });
    const attempts = (await tasker.describeTasks(ids))
      .flatMap((d) => d.attempts)
      .filter((a) => a.stepName === 'reserve');
    const durations = attempts.map((a) => a.durationMs).sort((a, b) => a - b);
    expect(reserve?.p99_seconds).toBe((durations.at(-1) ?? 0) / 1000);
    expect(reserve?.total_seconds).toBeCloseTo(durations.reduce((s, d) => s + d, 0) / 1000, 3);
    // Ranked by total time, the largest first. The two timeouts alone give reserve 0.3 s; a stall on a
    // shared machine can make a no-op step longer, so the order is checked against the totals, not assumed.
    expect(Number(reserve?.total_seconds)).toBeGreaterThanOrEqual(0.3);
    const totals = rows.map((s) => Number(s.total_seconds));
    expect(totals).toEqual([...totals].sort((a, b) => b - a));
    expect(rows.find((s) => s.step === 'ship')).toMatchObject({
      executions: 2,
      attempts: 2,
      failure_rate: 0,
    });
    expect(rows.reduce((s, x) => s + Number(x.share_of_time), 0)).toBeCloseTo(1, 1);
  });

  it('health reports measured figures; live and ready; handlers lists templates and DAGs; metrics; OpenAPI', async () => {
    const { tasker } = await startEngine(SHOP, handlers);
    const { get } = await api(tasker);
    await runOrders(tasker, [{ order_id: 'h1' }, { order_id: 'h2', fail: 'boom' }]);
    const h = await get('/tasker/health');
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({
      status: 'healthy',
      checks: {
        database: { status: 'healthy' },
        task_processing: {
          status: 'healthy',
          active_tasks: 0,
          pending_tasks: 0,
          failed_tasks_last_hour: 1,
          worker: 'alive',
        },
        step_handlers: { status: 'healthy', registered_handlers: 3, namespaces: ['shop'] },
      },
    });
    expect(h.body.checks.database.response_time_ms).toBeGreaterThan(0);
    expect(h.body.performance.avg_task_completion_time_seconds).toBeGreaterThan(0);
    expect(h.body.performance.avg_step_execution_time_seconds).toBeGreaterThanOrEqual(0);
    expect(h.body.performance.memory_usage_mb).toBeGreaterThan(10);
    expect((await get('/tasker/health/live')).body.status).toBe('alive');
    expect((await get('/tasker/health/ready')).body).toMatchObject({
      status: 'ready',
      database: 'reachable',
      worker: 'alive',
    });

    const hd = await get('/tasker/handlers');
    expect(hd.body.templates[0]).toMatchObject({
      full_name: 'shop.order@1.0.0',
      steps: [
        { name: 'check', depends_on: [], handler_registered: true },
        { name: 'reserve', depends_on: ['check'], timeout_seconds: 0.15, max_attempts: 2 },
        { name: 'ship', depends_on: ['reserve'] },
      ],
    });
    tasker.metrics.registerMetric(
      new (await import('prom-client')).Counter({ name: 'tasker_test_total', help: 'x', registers: [] }),
    );
    const m = await apps[0]!.inject({ url: '/tasker/metrics' });
    expect(m.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(m.body).toContain('# TYPE tasker_test_total counter');

    const doc = (await get('/tasker/openapi.json')).body;
    expect(doc.openapi).toBe('3.0.3');
    // A real OpenAPI validator accepts it (3.0 client generators refuse a 3.1-only schema in a 3.0 document).
    const invalid = await SwaggerParser.validate(
      structuredClone(doc) as unknown as Parameters<typeof SwaggerParser.validate>[0],
    ).then(
      () => null,
      (err: unknown) => String(err),
    );
    expect(invalid).toBeNull();
    const list = doc.paths['/tasker/tasks'].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining([
        'status',
        'namespace',
        'name',
        'version',
        'correlation_id',
        'tag',
        'created_after',
        'created_before',
        'include_dependencies',
        'limit',
        'cursor',
      ]),
    );
    expect(doc.paths['/tasker/tasks'].post.requestBody.content['application/json'].schema.required).toEqual([
      'namespace',
      'name',
    ]);
    // The success codes routes really answer with, and the errors: 401/403 only where a token is needed.
    const codes = (path: string, method: string) => Object.keys(doc.paths[path][method].responses).sort();
    expect(codes('/tasker/tasks', 'post')).toEqual(['200', '201', '400', '401', '403', 'default']);
    expect(codes('/tasker/bulk-actions', 'post')).toEqual(['200', '202', '400', '401', '403', 'default']);
    expect(codes('/tasker/health/ready', 'get')).toEqual(['200', '400', '503', 'default']);
    expect(
      doc.paths['/tasker/tasks/{id}'].get.responses['404'] ??
        doc.paths['/tasker/tasks/{id}'].get.responses.default,
    ).toMatchObject({ content: { 'application/json': { schema: { required: ['error', 'message'] } } } });
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/tasker/tasks/{id}',
        '/tasker/analytics/business-impact',
        '/tasker/analytics/bottlenecks',
        '/tasker/tasks/{id}/steps/{step}/resolve',
      ]),
    );
  });

  it('ready and health answer 503 when the store is gone', async () => {
    const { tasker } = await startEngine(SHOP, handlers, { start: false });
    const { get } = await api(tasker);
    await tasker.store.close();
    expect((await get('/tasker/health/ready')).status).toBe(503);
    const h = await get('/tasker/health');
    expect(h.status).toBe(503);
    expect(h.body).toMatchObject({ status: 'unhealthy', checks: { database: { status: 'unhealthy' } } });
    expect((await get('/tasker/health/live')).status).toBe(200);
  });

  it('mounts into a host Fastify app as a plugin, under the host’s prefix, next to its own routes', async () => {
    const { tasker } = await startEngine(SHOP, handlers);
    const host = Fastify();
    apps.push(host);
    host.get('/orders', async () => ({ host: true }));
    await host.register(taskerPlugin(tasker), { prefix: '/ops/tasker' });
    const [id] = await runOrders(tasker, [{ order_id: 'm1' }]);
    expect((await host.inject('/orders')).json()).toEqual({ host: true });
    const r = await host.inject(`/ops/tasker/tasks/${id}`);
    expect(r.statusCode).toBe(200);
    expect(r.json<{ status: string }>().status).toBe('completed');
    // The plugin's strict validation applies inside it, not to the host's routes.
    expect((await host.inject('/ops/tasker/tasks?nope=1')).statusCode).toBe(400);
    expect((await host.inject('/orders?nope=1')).statusCode).toBe(200);
  });

  it('the CLI’s tasks/show/retry/cancel target a server with --url and --token', async () => {
    const token = 'cli-token-456';
    const { tasker } = await startEngine(SHOP, handlers);
    const { app, url } = await serve(tasker, {
      port: 0,
      processMetrics: false,
      tokens: [{ name: 'cli', tokenSha256: sha256Hex(token), scopes: ['tasks:read', 'tasks:write'] }],
    });
    apps.push(app);
    const [failedId] = await runOrders(tasker, [{ order_id: 'cli-1', fail: 'boom' }]);
    const cli = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(['node', 'tasker', ...args], {
        out: (t) => out.push(t),
        err: (t) => err.push(t),
        env: { TASKER_LOG_LEVEL: 'silent', TASKER_TOKEN: token },
        cwd: tempDir(),
      });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    const list = await cli('tasks', '--url', url, '--status', 'error');
    expect(list.code).toBe(0);
    expect(list.out).toContain(failedId);
    expect(list.out).toContain('shop.order@1.0.0');
    const show = await cli('show', failedId ?? '', '--url', url);
    expect(show.out).toMatch(/reserve +failed/);
    expect(show.out).toMatch(/suggested action: .*stock-service/);
    const json = await cli('show', failedId ?? '', '--url', url, '--json');
    expect(JSON.parse(json.out)).toMatchObject({ id: failedId, status: 'failed' });
    const retry = await cli('retry', failedId ?? '', '--url', url);
    expect(retry.code).toBe(0);
    expect(retry.out).toContain(`task ${failedId} is`);
    const slow = await tasker.createTask({
      namespace: 'shop',
      name: 'order',
      context: { order_id: 'cli-2', fail: 'timeout' },
    });
    const cancel = await cli('cancel', slow.task.id, '--url', url, '--reason', 'from the CLI');
    expect(cancel.out).toBe(`task ${slow.task.id} is cancelled`);
    const denied = await cli('tasks', '--url', url, '--token', 'nope');
    expect(denied.code).toBe(1);
    expect(denied.err).toMatch(
      /^tasker: invalid bearer token \(HTTP 401 from http:\/\/127\.0\.0\.1:\d+\/tasker\)$/,
    );
    const missing = await cli('show', '01900000-0000-7000-8000-00000000dead', '--url', url);
    expect(missing.err).toMatch(/no task with id .* \(HTTP 404/);
    const down = await cli('tasks', '--url', 'http://127.0.0.1:59999/tasker');
    expect(down.err).toMatch(
      /cannot reach the Tasker API at http:\/\/127\.0\.0\.1:59999\/tasker \(ECONNREFUSED\)/,
    );
  });

  it('the seed’s curl commands work against a listening server', async () => {
    const token = 'seed-token-123';
    const { tasker } = await startEngine(SHOP, handlers);
    const { app, url } = await serve(tasker, {
      port: 0,
      processMetrics: false,
      tokens: [{ name: 'ops', tokenSha256: sha256Hex(token), scopes: ['admin'] }],
    });
    apps.push(app);
    const [failedId] = await runOrders(tasker, [{ order_id: 'x1', value: 42, fail: 'boom', customer: 'c' }]);
    await tasker.createTask({
      namespace: 'shop',
      name: 'order',
      context: { order_id: 'x2' },
      correlationId: 'customer-journey-abc123',
    });
    // Asynchronous: the server answers from this same process, so a blocking spawnSync would deadlock.
    const curlAs = async (bearer: string, ...args: string[]) => {
      const { stdout } = await execFileAsync('curl', [
        '-s',
        '-w',
        '\\n%{http_code}',
        '-H',
        `Authorization: Bearer ${bearer}`,
        ...args,
      ]);
      const lines = stdout.trimEnd().split('\n');
      const status = Number(lines.pop());
      return { status, text: lines.join('\n') };
    };
    const curl = (...args: string[]) => curlAs(token, ...args);
    const origin = url.replace(/\/tasker$/, '');
    const health = await curl(`${origin}/tasker/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toMatchObject({ status: 'healthy' });
    expect((await curl(`${origin}/tasker/tasks?status=in_progress&include_dependencies=true`)).status).toBe(
      200,
    );
    expect((await curl(`${origin}/tasker/metrics`)).status).toBe(200);
    expect((await curl(`${origin}/tasker/tasks?namespace=ecommerce&status=in_progress`)).status).toBe(200);
    const failedList = await curl(
      `${origin}/tasker/tasks?namespace=shop&name=order&status=failed&created_after=2024-01-15T00:00:00Z`,
    );
    expect(JSON.parse(failedList.text).tasks.map((t: { id: string }) => t.id)).toEqual([failedId]);
    const detail = await curl(
      `${origin}/tasker/tasks/${failedId}?include_dependencies=true&include_business_metrics=true`,
    );
    expect(JSON.parse(detail.text)).toMatchObject({
      dependencies: { bottleneck_step: 'reserve' },
      failure_impact: { revenue_at_risk: 42 },
    });
    const journey = await curl(
      '-H',
      'X-Correlation-ID: customer-journey-abc123',
      `${origin}/tasker/tasks?correlation_id=customer-journey-abc123`,
    );
    expect(JSON.parse(journey.text).tasks).toHaveLength(1);
    const impact = await curl(`${origin}/tasker/analytics/business-impact?time_range=1h&namespace=shop`);
    expect(JSON.parse(impact.text).impact_analysis).toMatchObject({
      total_failed_workflows: 1,
      estimated_revenue_loss: 42,
    });
    expect((await curlAs('wrong', `${origin}/tasker/health`)).status).toBe(401);
  });
});
