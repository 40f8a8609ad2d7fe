/**
 * Hardening of the HTTP API: the auth matrix (scopes, namespaces, open routes, correlation ids), bad
 * input answered as 4xx JSON naming what was wrong, the refusal to serve an open API beyond loopback, a
 * seeded fuzz of malformed requests (never a 5xx, always a JSON error), and redaction of task contexts.
 * Store-independent: the harness picks SQLite or a PostgreSQL schema by project.
 */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex, type ApiToken } from '../src/api/auth.js';
import { buildServer, type ServerOptions } from '../src/api/server.js';
import {
  PermanentError,
  TaskerError,
  type HandlerMap,
  type Tasker,
  type TaskerOptions,
} from '../src/index.js';
import { startEngine } from './support/harness.js';
import { capturingLogger, type LogLine } from './support/logs.js';

// ---------------------------------------------------------------------------------------------------------
// Fixtures

const PAYMENTS = `
namespace: payments
name: charge
version: 1.0.0
context_schema:
  type: object
  required: [amount, currency]
  properties:
    amount: { type: number, minimum: 0 }
    currency: { type: string, enum: [EUR, USD] }
    fail: { type: boolean }
business:
  value_field: amount
steps:
  - { name: authorize, handler: authorize }
  - { name: capture, handler: capture, depends_on: [authorize] }
`;

const INVENTORY = `
namespace: inventory
name: reserve
version: 1.0.0
steps:
  - { name: reserve, handler: reserve }
`;

/** Held handlers still running when a test ends are let go, or closing the engine would wait for them. */
const releases: Array<() => void> = [];

const HANDLERS: HandlerMap = {
  authorize: ({ task }) => {
    if (task.context.fail === true) throw new PermanentError('card declined');
    return { authorized: true };
  },
  capture: () => ({ captured: true }),
  reserve: ({ task, signal }) => {
    if (task.context.fail === true) throw new PermanentError('out of stock');
    if (task.context.hold === true)
      return new Promise((resolve) => {
        signal.addEventListener('abort', () => resolve('aborted'));
        releases.push(() => resolve('released'));
      });
    return { reserved: true };
  },
};

const SECRETS = {
  admin: 'admin-token-0123456789',
  reader: 'reader-token-0123456789',
  analyst: 'analyst-token-0123456789',
  payments: 'payments-token-0123456789',
  metrics: 'metrics-token-0123456789',
} as const;

const TOKENS: ApiToken[] = [
  { name: 'admin', tokenSha256: sha256Hex(SECRETS.admin), scopes: ['admin'] },
  { name: 'reader', tokenSha256: sha256Hex(SECRETS.reader), scopes: ['tasks:read'] },
  { name: 'analyst', tokenSha256: sha256Hex(SECRETS.analyst), scopes: ['analytics:read'] },
  {
    name: 'payments-team',
    tokenSha256: sha256Hex(SECRETS.payments),
    scopes: ['tasks:read', 'tasks:write', 'analytics:read'],
    namespaces: ['payments'],
  },
  { name: 'prometheus', tokenSha256: sha256Hex(SECRETS.metrics), scopes: ['metrics:read'] },
];

const as = (who: keyof typeof SECRETS) => ({ authorization: `Bearer ${SECRETS[who]}` });
const ADMIN = as('admin');

interface ErrorBody {
  error: string;
  message: string;
  details?: Record<string, unknown>;
}
interface TaskSummary {
  id: string;
  namespace: string;
  name: string;
  status: string;
  correlation_id: string;
}
interface TaskList {
  tasks: TaskSummary[];
  next_cursor: string | null;
  limit: number;
}
interface TaskDetail extends TaskSummary {
  context: Record<string, unknown>;
}

const apps: FastifyInstance[] = [];
// Registered after the harness's hook, so it runs before it (hooks run as a stack): servers are closed and
// held handlers released before the engines close.
afterEach(async () => {
  while (apps.length > 0) await apps.pop()?.close();
  while (releases.length > 0) releases.pop()?.();
});

async function server(tasker: Tasker, options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = await buildServer(tasker, { processMetrics: false, ...options });
  apps.push(app);
  await app.ready();
  return app;
}

/**
 * For the `it.fails` tests (known bugs, API-layer only): an in-memory SQLite engine, so a test that fails
 * as expected leaves no PostgreSQL schema behind (the harness keeps a failed test's schema for inspection).
 */
const EXPECTED_FAIL = { start: false, database: 'sqlite::memory:' } as const;

let logLines: LogLine[] = [];

/** An engine with both templates; its log lines go to `logLines` (never to the test output). */
async function engine(options: Partial<TaskerOptions> & { start?: boolean } = {}) {
  const { logger, lines } = capturingLogger('warn');
  logLines = lines;
  return (await startEngine([PAYMENTS, INVENTORY], HANDLERS, { logger, ...options })).tasker;
}

/** Asserts an error response: status, JSON `{error, message}` with the code, no stack trace. */
function expectError(res: LightMyRequestResponse, status: number, code: string): ErrorBody {
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json<ErrorBody>();
  expect({ status: res.statusCode, error: body.error }).toEqual({ status, error: code });
  expect(typeof body.message).toBe('string');
  expect(res.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  return body;
}

const charge = (extra: Record<string, unknown> = {}) => ({
  namespace: 'payments',
  name: 'charge',
  context: { amount: 10, currency: 'EUR', ...extra },
});

async function createAndWait(tasker: Tasker, input: Parameters<Tasker['createTask']>[0]) {
  const { task } = await tasker.createTask(input);
  await tasker.waitForTask(task.id, { timeoutMs: 10_000, pollMs: 20 });
  return task.id;
}

/** Follows next_cursor until it runs out, returning every task seen, in order. */
async function listAll(app: FastifyInstance, query: string, headers: Record<string, string>) {
  const seen: TaskSummary[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 50; page++) {
    const url: string = `/tasker/tasks?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await app.inject({ method: 'GET', url, headers });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<TaskList>();
    seen.push(...body.tasks);
    cursor = body.next_cursor;
    if (cursor === null) return seen;
  }
  throw new Error(`pagination of ${query} did not end`);
}

// ---------------------------------------------------------------------------------------------------------
// 1. Auth matrix

describe('authentication and authorization', () => {
  /** Four payments tasks (older) and eight inventory tasks (newer): a payments-only page must skip many. */
  async function world() {
    const tasker = await engine();
    const payments: string[] = [];
    for (let i = 0; i < 3; i++) payments.push(await createAndWait(tasker, charge({ n: i })));
    payments.push(await createAndWait(tasker, charge({ fail: true })));
    const inventory: string[] = [];
    for (let i = 0; i < 6; i++)
      inventory.push(
        await createAndWait(tasker, { namespace: 'inventory', name: 'reserve', context: { i } }),
      );
    const inventoryFailed = await createAndWait(tasker, {
      namespace: 'inventory',
      name: 'reserve',
      context: { fail: true },
    });
    inventory.push(inventoryFailed);
    const { task: held } = await tasker.createTask({
      namespace: 'inventory',
      name: 'reserve',
      context: { hold: true },
    });
    inventory.push(held.id);
    for (let i = 0; i < 200; i++) {
      if ((await tasker.getTask(held.id)).task.status === 'in_progress') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const app = await server(tasker, { tokens: TOKENS });
    return { tasker, app, payments, inventory, held: held.id };
  }

  it('rejects missing, wrong and malformed credentials with 401 and WWW-Authenticate: Bearer', async () => {
    const tasker = await engine({ start: false });
    const app = await server(tasker, { tokens: TOKENS });
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer not-a-real-token' },
      { authorization: `Bearer ${SECRETS.admin}x` },
      { authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` },
      { authorization: 'Basic x' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: `Bearer ${SECRETS.admin} extra` },
      { authorization: SECRETS.admin },
      { authorization: `Token ${SECRETS.admin}` },
      { authorization: sha256Hex(SECRETS.admin) },
      { authorization: `Bearer ${sha256Hex(SECRETS.admin)}` }, // the digest itself is not a token
    ];
    for (const headers of attempts) {
      for (const [method, url] of [
        ['GET', '/tasker/tasks'],
        ['POST', '/tasker/tasks'],
        ['GET', '/tasker/analytics/bottlenecks'],
        ['GET', '/tasker/handlers'],
        ['GET', '/tasker/health'],
      ] as const) {
        const res = await app.inject({
          method,
          url,
          headers,
          ...(method === 'POST' ? { payload: charge() } : {}),
        });
        const body = expectError(res, 401, 'UNAUTHORIZED');
        expect(res.headers['www-authenticate']).toBe('Bearer');
        expect(body.message).toMatch(
          headers.authorization === undefined ? /missing Authorization/ : /invalid/,
        );
      }
    }
    expect(await tasker.countTasks({})).toBe(0);
  });

  it('enforces scopes: 403 FORBIDDEN naming the scope; admin passes everything', async () => {
    const { tasker, app, payments } = await world();
    const before = await tasker.countTasks({});

    const create = await app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      headers: as('reader'),
      payload: charge(),
    });
    const forbidden = expectError(create, 403, 'FORBIDDEN');
    expect(forbidden.message).toContain('tasks:write');
    expect(forbidden.message).toContain('"reader"');
    expect(forbidden.details).toEqual({ scope: 'tasks:write' });
    expect(create.headers['www-authenticate']).toBeUndefined();

    for (const url of ['/tasker/analytics/business-impact', '/tasker/analytics/bottlenecks?time_range=1d']) {
      const body = expectError(await app.inject({ url, headers: as('reader') }), 403, 'FORBIDDEN');
      expect(body.message).toContain('analytics:read');
    }
    const cancel = await app.inject({
      method: 'POST',
      url: `/tasker/tasks/${payments[0]}/cancel`,
      headers: as('reader'),
    });
    expect(expectError(cancel, 403, 'FORBIDDEN').message).toContain('tasks:write');
    // analytics:read alone reads no tasks.
    expect(
      expectError(await app.inject({ url: '/tasker/tasks', headers: as('analyst') }), 403, 'FORBIDDEN')
        .message,
    ).toContain('tasks:read');
    expect(
      (await app.inject({ url: '/tasker/analytics/bottlenecks', headers: as('analyst') })).statusCode,
    ).toBe(200);
    // metrics:read alone reads no tasks.
    expectError(await app.inject({ url: '/tasker/tasks', headers: as('metrics') }), 403, 'FORBIDDEN');
    expect(await tasker.countTasks({})).toBe(before);

    // The reader reads.
    expect((await app.inject({ url: '/tasker/tasks', headers: as('reader') })).statusCode).toBe(200);
    expect(
      (await app.inject({ url: `/tasker/tasks/${payments[0]}`, headers: as('reader') })).statusCode,
    ).toBe(200);

    // Admin: every route.
    const adminGets = [
      '/tasker/tasks',
      `/tasker/tasks/${payments[0]}?include_dependencies=true&include_business_metrics=true`,
      `/tasker/tasks/${payments[0]}/transitions`,
      '/tasker/analytics/business-impact?time_range=1d',
      '/tasker/analytics/bottlenecks',
      '/tasker/handlers',
      '/tasker/health',
      '/tasker/metrics',
      '/tasker/openapi.json',
    ];
    for (const url of adminGets) {
      const res = await app.inject({ url, headers: ADMIN });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 200 });
    }
    const created = await app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      headers: ADMIN,
      payload: charge(),
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<TaskSummary>().id;
    await tasker.waitForTask(id, { timeoutMs: 10_000, pollMs: 20 });
    const retry = await app.inject({
      method: 'POST',
      url: `/tasker/tasks/${payments[3]}/retry`,
      headers: ADMIN,
      payload: { reason: 'card fixed' },
    });
    expect(retry.statusCode, retry.body).toBe(200);
  });

  it('hides other namespaces from a namespace-limited token: 404s, filtered lists, handlers, analytics', async () => {
    const { tasker, app, payments, inventory, held } = await world();
    const P = as('payments');

    // Another namespace's task does not exist for this token.
    for (const id of [inventory[0] ?? '', held]) {
      for (const [method, url] of [
        ['GET', `/tasker/tasks/${id}`],
        ['GET', `/tasker/tasks/${id}?include_dependencies=true`],
        ['GET', `/tasker/tasks/${id}/transitions`],
        ['POST', `/tasker/tasks/${id}/cancel`],
        ['POST', `/tasker/tasks/${id}/retry`],
        ['POST', `/tasker/tasks/${id}/steps/reserve/resolve`],
      ] as const) {
        const body = expectError(await app.inject({ method, url, headers: P }), 404, 'TASK_NOT_FOUND');
        expect(body.message).toBe(`no task with id ${id}`);
      }
    }
    // The held task was not cancelled by the refused request; admin can.
    expect((await tasker.getTask(held)).task.status).toBe('in_progress');
    const adminCancel = await app.inject({
      method: 'POST',
      url: `/tasker/tasks/${held}/cancel`,
      headers: ADMIN,
    });
    expect(adminCancel.statusCode, adminCancel.body).toBe(200);
    expect(adminCancel.json<TaskSummary>().status).toBe('cancelled');
    // The token still sees its own.
    expect((await app.inject({ url: `/tasker/tasks/${payments[0]}`, headers: P })).statusCode).toBe(200);

    // Lists: never an inventory task, with any page size (pages made only of inventory tasks are skipped).
    const mine = new Set(payments);
    for (const query of [
      'limit=50',
      'limit=1',
      'limit=2',
      'limit=3',
      'limit=4',
      'namespace=payments&limit=1',
    ]) {
      const seen = await listAll(app, query, P);
      expect(seen.map((t) => t.namespace).filter((n) => n !== 'payments')).toEqual([]);
      expect(new Set(seen.map((t) => t.id)), query).toEqual(mine);
      expect(seen).toHaveLength(mine.size); // no duplicates across pages
    }
    const first = (await app.inject({ url: '/tasker/tasks?limit=2', headers: P })).json<TaskList>();
    expect(first.tasks.map((t) => t.id)).toEqual([payments[3], payments[2]]);
    expect(first.next_cursor).not.toBeNull();
    for (const query of [
      'namespace=inventory',
      'namespace=inventory&limit=1',
      'namespace=inventory&status=failed',
    ]) {
      const res = await app.inject({ url: `/tasker/tasks?${query}`, headers: P });
      expect(res.statusCode).toBe(200);
      expect(res.json<TaskList>()).toMatchObject({ tasks: [], next_cursor: null });
    }
    const failed = (await app.inject({ url: '/tasker/tasks?status=failed', headers: P })).json<TaskList>();
    expect(failed.tasks.map((t) => t.id)).toEqual([payments[3]]);
    // Admin sees both namespaces.
    const all = await listAll(app, 'limit=5', ADMIN);
    expect(new Set(all.map((t) => t.namespace))).toEqual(new Set(['payments', 'inventory']));
    expect(all).toHaveLength(payments.length + inventory.length);

    // Creating a task in another namespace: the template does not exist for this token; nothing created.
    const before = await tasker.countTasks({ namespace: 'inventory' });
    const create = await app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      headers: P,
      payload: { namespace: 'inventory', name: 'reserve', context: {} },
    });
    expect(expectError(create, 404, 'TEMPLATE_NOT_FOUND').message).toContain('inventory');
    expect(await tasker.countTasks({ namespace: 'inventory' })).toBe(before);
    const own = await app.inject({ method: 'POST', url: '/tasker/tasks', headers: P, payload: charge() });
    expect(own.statusCode, own.body).toBe(201);
    await tasker.waitForTask(own.json<TaskSummary>().id, { timeoutMs: 10_000, pollMs: 20 });

    // Handlers: only payments templates.
    const handlers = (await app.inject({ url: '/tasker/handlers', headers: P })).json<{
      templates: Array<{ namespace: string }>;
    }>();
    expect(handlers.templates.map((t) => t.namespace)).toEqual(['payments']);
    const adminHandlers = (await app.inject({ url: '/tasker/handlers', headers: ADMIN })).json<{
      templates: Array<{ namespace: string }>;
    }>();
    expect(adminHandlers.templates.map((t) => t.namespace).sort()).toEqual(['inventory', 'payments']);

    // Analytics: only payments tasks are examined.
    type Impact = { impact_analysis: { total_failed_workflows: number }; sample: { tasks_examined: number } };
    const impact = await app.inject({ url: '/tasker/analytics/business-impact?time_range=1d', headers: P });
    expect(impact.statusCode, impact.body).toBe(200);
    expect(impact.json<Impact>().impact_analysis.total_failed_workflows).toBe(1);
    expect(impact.json<Impact>().sample.tasks_examined).toBe(1);
    const adminImpact = await app.inject({
      url: '/tasker/analytics/business-impact?time_range=1d',
      headers: ADMIN,
    });
    expect(adminImpact.json<Impact>().impact_analysis.total_failed_workflows).toBe(2);
    const otherImpact = await app.inject({
      url: '/tasker/analytics/business-impact?time_range=1d&namespace=inventory',
      headers: P,
    });
    expect(otherImpact.json<Impact>().sample.tasks_examined).toBe(0);

    type Bottlenecks = {
      steps: Array<{ namespace: string; step: string }>;
      sample: { tasks_examined: number };
    };
    const bn = (
      await app.inject({ url: '/tasker/analytics/bottlenecks?time_range=1d', headers: P })
    ).json<Bottlenecks>();
    expect(bn.steps.length).toBeGreaterThan(0);
    expect(new Set(bn.steps.map((s) => s.namespace))).toEqual(new Set(['payments']));
    expect(bn.sample.tasks_examined).toBe(payments.length + 1);
    const adminBn = (
      await app.inject({ url: '/tasker/analytics/bottlenecks?time_range=1d', headers: ADMIN })
    ).json<Bottlenecks>();
    expect(new Set(adminBn.steps.map((s) => s.namespace))).toEqual(new Set(['payments', 'inventory']));
    const otherBn = (
      await app.inject({ url: '/tasker/analytics/bottlenecks?namespace=inventory', headers: P })
    ).json<Bottlenecks>();
    expect(otherBn).toMatchObject({ steps: [], sample: { tasks_examined: 0 } });
  });

  it('pages a namespace-limited list past more invisible tasks than the page loop reads at once', async () => {
    const tasker = await engine({ start: false });
    const app = await server(tasker, { tokens: TOKENS });
    const { task: mine } = await tasker.createTask(charge());
    // 45 newer tasks of another namespace: with limit=1 that is more store pages than one request reads.
    await tasker.createTasks(
      Array.from({ length: 45 }, (_, i) => ({ namespace: 'inventory', name: 'reserve', context: { i } })),
    );
    const firstRes = await app.inject({ url: '/tasker/tasks?limit=1', headers: as('payments') });
    expect(firstRes.statusCode).toBe(200);
    const first = firstRes.json<TaskList>();
    // A short (here empty) page with a cursor is a correct page; it never shows another namespace.
    expect(first.tasks.filter((t) => t.namespace !== 'payments')).toEqual([]);
    if (first.tasks.length === 0) expect(first.next_cursor).not.toBeNull();
    const seen = await listAll(app, 'limit=1', as('payments'));
    expect(seen.map((t) => t.id)).toEqual([mine.id]);
    expect(await listAll(app, 'limit=7&status=pending', as('payments'))).toHaveLength(1);
    expect(await listAll(app, 'limit=7', ADMIN)).toHaveLength(46);
  });

  // BUG (reported): TemplateRegistry.get's not-found hint lists every registered template ("registered
  // templates: inventory/reserve, ..." / "did you mean `inventory/reserve`?"), so a token limited to
  // `payments` learns the other namespaces' template names. Flip to `it` once the API hides them.
  it('does not name other namespaces’ templates in a TEMPLATE_NOT_FOUND message', async () => {
    const tasker = await engine(EXPECTED_FAIL);
    const app = await server(tasker, { tokens: TOKENS });
    for (const name of ['nope', 'reserve', 'reserv']) {
      const res = await app.inject({
        method: 'POST',
        url: '/tasker/tasks',
        headers: as('payments'),
        payload: { namespace: 'payments', name, context: {} },
      });
      const body = expectError(res, 404, 'TEMPLATE_NOT_FOUND');
      expect(body.message).not.toContain('inventory');
    }
  });

  // BUG (reported): GET /health (scope tasks:read) reports `checks.step_handlers.namespaces` from
  // tasker.templates.namespaces() unfiltered (src/api/routes/health.ts), so a token limited to `payments`
  // learns every namespace, while /handlers hides them. Flip to `it` once /health filters by principal.
  it('does not list other namespaces in /health to a namespace-limited token', async () => {
    const tasker = await engine(EXPECTED_FAIL);
    const app = await server(tasker, { tokens: TOKENS });
    const res = await app.inject({ url: '/tasker/health', headers: as('payments') });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('inventory');
  });

  it('leaves liveness and readiness open; metrics open by default, behind metrics:read when asked', async () => {
    const tasker = await engine();
    // Process metrics on, so the exposition is not empty.
    const app = await server(tasker, { tokens: TOKENS, processMetrics: true });
    const live = await app.inject({ url: '/tasker/health/live' });
    expect(live.statusCode).toBe(200);
    expect(live.json()).toMatchObject({ status: 'alive' });
    const ready = await app.inject({ url: '/tasker/health/ready' });
    expect(ready.statusCode, ready.body).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', database: 'reachable', worker: 'alive' });
    // Open routes ignore even a bad token.
    expect(
      (await app.inject({ url: '/tasker/health/live', headers: { authorization: 'Bearer nope' } }))
        .statusCode,
    ).toBe(200);
    // The detailed report is not open.
    expectError(await app.inject({ url: '/tasker/health' }), 401, 'UNAUTHORIZED');
    expect((await app.inject({ url: '/tasker/health', headers: as('reader') })).statusCode).toBe(200);

    const metrics = await app.inject({ url: '/tasker/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(/^# (HELP|TYPE) /m);

    const locked = await server(tasker, { tokens: TOKENS, metricsRequireAuth: true });
    const noToken = await locked.inject({ url: '/tasker/metrics' });
    expectError(noToken, 401, 'UNAUTHORIZED');
    expect(noToken.headers['www-authenticate']).toBe('Bearer');
    expectError(
      await locked.inject({ url: '/tasker/metrics', headers: { authorization: 'Bearer x' } }),
      401,
      'UNAUTHORIZED',
    );
    const reader = expectError(
      await locked.inject({ url: '/tasker/metrics', headers: as('reader') }),
      403,
      'FORBIDDEN',
    );
    expect(reader.message).toContain('metrics:read');
    for (const who of ['metrics', 'admin'] as const) {
      const res = await locked.inject({ url: '/tasker/metrics', headers: as(who) });
      expect({ who, status: res.statusCode }).toEqual({ who, status: 200 });
      expect(res.body).toMatch(/^# (HELP|TYPE) /m);
    }
    // Liveness stays open on the locked server too.
    expect((await locked.inject({ url: '/tasker/health/live' })).statusCode).toBe(200);
    expect((await locked.inject({ url: '/tasker/health/ready' })).statusCode).toBe(200);
  });

  it('echoes a valid X-Correlation-ID on every response and replaces an invalid one', async () => {
    const tasker = await engine({ start: false });
    const app = await server(tasker, { tokens: TOKENS });
    const VALID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
    const cases: InjectOptions[] = [
      { url: '/tasker/tasks', headers: ADMIN }, // 200
      { url: '/tasker/tasks' }, // 401
      { url: '/tasker/tasks', headers: as('analyst') }, // 403
      { url: '/tasker/tasks/00000000-0000-7000-8000-000000000000', headers: ADMIN }, // 404 task
      { url: '/tasker/no/such/route', headers: ADMIN }, // 404 route
      { url: '/tasker/tasks?limit=0', headers: ADMIN }, // 400
      { url: '/tasker/health/live' }, // open
      {
        method: 'POST',
        url: '/tasker/tasks',
        headers: { ...ADMIN, 'content-type': 'application/json' },
        payload: '{',
      },
    ];
    const statuses: number[] = [];
    for (const c of cases) {
      const headers = { ...(c.headers as Record<string, string>), 'x-correlation-id': 'abc-123' };
      const res = await app.inject({ ...c, headers });
      statuses.push(res.statusCode);
      expect({ url: c.url, id: res.headers['x-correlation-id'] }).toEqual({ url: c.url, id: 'abc-123' });
    }
    expect(statuses).toEqual([200, 401, 403, 404, 404, 400, 200, 400]);

    const longest = `a${'b'.repeat(99)}`;
    expect(
      (await app.inject({ url: '/tasker/health/live', headers: { 'x-correlation-id': longest } })).headers[
        'x-correlation-id'
      ],
    ).toBe(longest);

    for (const bad of ['bad id!', 'a'.repeat(101), '-leading-dash', '_x', 'a/b', 'ü', 'a;DROP TABLE tasks']) {
      for (const [i, c] of cases.entries()) {
        const headers = { ...(c.headers as Record<string, string>), 'x-correlation-id': bad };
        const res = await app.inject({ ...c, headers });
        // Not rejected: each request is answered exactly as with a valid id.
        expect({ url: c.url, status: res.statusCode }).toEqual({ url: c.url, status: statuses[i] });
        const echoed = String(res.headers['x-correlation-id']);
        expect(echoed).not.toBe(bad);
        expect(echoed).toMatch(VALID);
      }
    }
    // Each replacement is logged with the value given.
    const warned = logLines.filter((l) => l.msg.startsWith('invalid x-correlation-id header replaced'));
    expect(warned.map((l) => l.given)).toContain('bad id!');
    expect(warned.map((l) => l.given)).toContain('a'.repeat(101));
    // Without the header a fresh id is generated, a different one each time.
    const a = (await app.inject({ url: '/tasker/health/live' })).headers['x-correlation-id'];
    const b = (await app.inject({ url: '/tasker/health/live' })).headers['x-correlation-id'];
    expect(String(a)).toMatch(VALID);
    expect(a).not.toBe(b);

    // A task created through the API takes the request's correlation id unless the body names one.
    const created = await app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      headers: { ...ADMIN, 'x-correlation-id': 'order-77' },
      payload: charge(),
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json<TaskSummary>().correlation_id).toBe('order-77');
    const replaced = await app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      headers: { ...ADMIN, 'x-correlation-id': 'bad id!' },
      payload: charge(),
    });
    expect(replaced.json<TaskSummary>().correlation_id).toBe(replaced.headers['x-correlation-id']);
  });
});

// ---------------------------------------------------------------------------------------------------------
// 2. Bad input

describe('bad input is a 4xx JSON error naming what was wrong', () => {
  it('rejects malformed, oversized and non-JSON bodies', async () => {
    const tasker = await engine({ start: false });
    const app = await server(tasker, { bodyLimit: 1024 });
    const post = (payload: string, contentType = 'application/json', url = '/tasker/tasks') =>
      app.inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload });

    for (const bad of [
      '{',
      '{"namespace": "payments",}',
      "{'namespace': 'payments'}",
      '{"a":1}}',
      'nul',
      '\u0000',
    ]) {
      const body = expectError(await post(bad), 400, 'INVALID_JSON');
      expect(body.message).toMatch(/JSON/);
    }
    expectError(await post(''), 400, 'INVALID_JSON');
    expectError(
      await post('{', 'application/json', `/tasker/tasks/00000000-0000-7000-8000-000000000000/cancel`),
      400,
      'INVALID_JSON',
    );

    const big = JSON.stringify({ ...charge({ padding: 'x'.repeat(2048) }) });
    expect(big.length).toBeGreaterThan(2048);
    const tooLarge = expectError(await post(big), 413, 'PAYLOAD_TOO_LARGE');
    expect(tooLarge.message).toMatch(/limit/);
    // Just under the limit is fine.
    const fits = JSON.stringify(charge({ padding: 'x'.repeat(900) }));
    expect(fits.length).toBeLessThanOrEqual(1024);
    expect((await post(fits)).statusCode).toBe(201);

    for (const type of [
      'application/xml',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'image/png',
    ]) {
      const body = expectError(await post(JSON.stringify(charge()), type), 415, 'UNSUPPORTED_MEDIA_TYPE');
      expect(body.message).toContain('application/json');
    }
    // text/plain is parsed by Fastify's default parser, then refused as not an object: never a task.
    const text = await post(JSON.stringify(charge()), 'text/plain');
    expect(text.statusCode).toBeGreaterThanOrEqual(400);
    expect(text.statusCode).toBeLessThan(500);
    expect(typeof text.json<ErrorBody>().error).toBe('string');
    expect(await tasker.countTasks({})).toBe(1);

    // Body fields: unknown, missing, wrong type, all named.
    const unknown = expectError(
      await post(JSON.stringify({ ...charge(), priority: 'high' })),
      400,
      'INVALID_ARGUMENT',
    );
    expect(unknown.message).toContain('"priority"');
    expect(unknown.details).toMatchObject({ location: 'body', errors: [{ field: 'priority' }] });
    const missing = expectError(
      await post(JSON.stringify({ namespace: 'payments' })),
      400,
      'INVALID_ARGUMENT',
    );
    expect(missing.message).toContain('name is required');
    const wrong = expectError(
      await post(JSON.stringify({ ...charge(), context: [1, 2], tags: 'a' })),
      400,
      'INVALID_ARGUMENT',
    );
    expect(wrong.message).toContain('context');
    for (const payload of ['[]', '"x"', '42', 'null']) expect((await post(payload)).statusCode).toBe(400);
    const reason = expectError(
      await post(
        JSON.stringify({ reason: 'r', force: true }),
        'application/json',
        '/tasker/tasks/00000000-0000-7000-8000-000000000000/cancel',
      ),
      400,
      'INVALID_ARGUMENT',
    );
    expect(reason.message).toContain('"force"');
  });

  it('names the bad query parameter and value', async () => {
    const tasker = await engine({ start: false });
    const app = await server(tasker);
    const get = (url: string) => app.inject({ url });

    const unknown = expectError(await get('/tasker/tasks?colour=red'), 400, 'INVALID_ARGUMENT');
    expect(unknown.message).toContain('unknown query parameter "colour"');
    expect(unknown.details).toMatchObject({ location: 'querystring', errors: [{ field: 'colour' }] });
    expect(
      expectError(await get('/tasker/analytics/bottlenecks?limit=5'), 400, 'INVALID_ARGUMENT').message,
    ).toContain('"limit"');
    expect(
      expectError(
        await get('/tasker/tasks/00000000-0000-7000-8000-000000000000?verbose=1'),
        400,
        'INVALID_ARGUMENT',
      ).message,
    ).toContain('"verbose"');

    for (const limit of ['0', '1001', 'abc', '-1', '1.5', '', '1e9', '1&limit=2']) {
      const body = expectError(await get(`/tasker/tasks?limit=${limit}`), 400, 'INVALID_ARGUMENT');
      expect(body.message, limit).toMatch(/\blimit\b/);
    }
    expect((await get('/tasker/tasks?limit=1000')).statusCode).toBe(200);
    expect((await get('/tasker/tasks?limit=1')).statusCode).toBe(200);

    for (const field of ['created_after', 'created_before']) {
      for (const value of [
        'yesterday',
        '2024-13-45',
        '2024-02-30T25:61:00Z',
        'now',
        '1e12',
        '-5',
        '2024/01/15',
      ]) {
        const res = await get(`/tasker/tasks?${field}=${encodeURIComponent(value)}`);
        // 2024-02-30 rolls over in Date.parse in some engines; every other value is plainly invalid.
        if (value === '2024-02-30T25:61:00Z' && res.statusCode === 200) continue;
        const body = expectError(res, 400, 'INVALID_ARGUMENT');
        expect(body.message).toContain(field);
        expect(body.message).toContain(JSON.stringify(value));
        expect(body.details).toEqual({ field, value });
      }
    }
    for (const ok of [
      '2024-01-15',
      '2024-01-15T00:00:00Z',
      '2024-01-15T00:00:00.123+02:00',
      '1705276800000',
    ]) {
      expect((await get(`/tasker/tasks?created_after=${encodeURIComponent(ok)}`)).statusCode, ok).toBe(200);
    }

    for (const status of [
      'bogus',
      'COMPLETED',
      'completed,bogus',
      '',
      '__proto__',
      'constructor',
      'toString',
    ]) {
      const body = expectError(
        await get(`/tasker/tasks?status=${encodeURIComponent(status)}`),
        400,
        'INVALID_ARGUMENT',
      );
      expect(body.message).toContain('status');
      expect(body.message).toContain(JSON.stringify(status.split(',').pop()));
    }
    expect((await get('/tasker/tasks?status=completed&status=failed,pending')).statusCode).toBe(200);
    const tooMany = await get(
      `/tasker/tasks?${Array.from({ length: 21 }, () => 'status=pending').join('&')}`,
    );
    expect(expectError(tooMany, 400, 'INVALID_ARGUMENT').message).toContain('status');

    for (const cursor of ['not-a-cursor', 'AAAA', Buffer.from("' OR 1=1 --").toString('base64url'), '%%%']) {
      const body = expectError(
        await get(`/tasker/tasks?cursor=${encodeURIComponent(cursor)}`),
        400,
        'INVALID_ARGUMENT',
      );
      expect(body.message).toContain('cursor');
    }
    expect(
      expectError(await get(`/tasker/tasks?cursor=${'A'.repeat(201)}`), 400, 'INVALID_ARGUMENT').message,
    ).toContain('cursor');

    for (const route of ['business-impact', 'bottlenecks']) {
      for (const range of ['5y', '0h', '999d', '32d', '1.5h', 'h', '-1h', '', '1000000s', '744h1']) {
        const res = await get(`/tasker/analytics/${route}?time_range=${encodeURIComponent(range)}`);
        const body = expectError(res, 400, 'INVALID_ARGUMENT');
        expect(body.message).toContain('time_range');
        expect(body.message).toContain(JSON.stringify(range));
      }
      for (const range of ['90s', '15m', '1h', '7d', '31d', '744h']) {
        expect((await get(`/tasker/analytics/${route}?time_range=${range}`)).statusCode, range).toBe(200);
      }
    }
  });

  it('checks the context against the template schema, listing every violation', async () => {
    const tasker = await engine({ start: false });
    const app = await server(tasker);
    const create = (payload: object) => app.inject({ method: 'POST', url: '/tasker/tasks', payload });

    const res = await create({
      namespace: 'payments',
      name: 'charge',
      context: { amount: -5, currency: 'GBP', fail: 'yes' },
    });
    const body = expectError(res, 400, 'CONTEXT_INVALID');
    expect(body.message).toContain('payments/charge@1.0.0');
    expect(body.message).not.toContain('\n');
    const issues = (body.details?.issues ?? []) as Array<{ path: string; message: string }>;
    expect(issues.map((i) => i.path).sort()).toEqual(['context.amount', 'context.currency', 'context.fail']);
    expect(issues.find((i) => i.path === 'context.amount')?.message).toMatch(/>= 0/);
    expect(issues.find((i) => i.path === 'context.fail')?.message).toMatch(/boolean/);

    const empty = expectError(
      await create({ namespace: 'payments', name: 'charge', context: {} }),
      400,
      'CONTEXT_INVALID',
    );
    expect(((empty.details?.issues ?? []) as Array<{ path: string }>).map((i) => i.path).sort()).toEqual([
      'context.amount',
      'context.currency',
    ]);
    // No context at all is an empty one.
    expectError(await create({ namespace: 'payments', name: 'charge' }), 400, 'CONTEXT_INVALID');
    expect(await tasker.countTasks({})).toBe(0);

    for (const payload of [
      { namespace: 'payments', name: 'refund' },
      { namespace: 'nowhere', name: 'charge' },
      { namespace: 'payments', name: 'charge', version: '9.9.9', context: { amount: 1, currency: 'EUR' } },
    ]) {
      const nf = expectError(await create(payload), 404, 'TEMPLATE_NOT_FOUND');
      expect(nf.message).toContain(`${payload.namespace}/${payload.name}`);
    }
    expect(await tasker.countTasks({})).toBe(0);
  });

  it('answers unknown ids, illegal transitions and unknown routes with 4xx, never 500', async () => {
    const tasker = await engine();
    const app = await server(tasker);
    const done = await createAndWait(tasker, charge());
    const failedId = await createAndWait(tasker, charge({ fail: true }));

    const ids = [
      '00000000-0000-7000-8000-000000000000',
      '0190a0b0-0000-7000-8000-000000000001',
      done.toUpperCase(),
      `${done}0`,
      'not-a-uuid',
      "1' OR '1'='1",
      '\u0000',
      '../../etc/passwd',
      '☃',
      '__proto__',
      'x'.repeat(100),
    ];
    const actions = [
      ['GET', ''],
      ['GET', '/transitions'],
      ['POST', '/cancel'],
      ['POST', '/retry'],
      ['POST', '/steps/authorize/resolve'],
    ] as const;
    for (const raw of ids) {
      for (const [method, path] of actions) {
        const res = await app.inject({ method, url: `/tasker/tasks/${encodeURIComponent(raw)}${path}` });
        // Upper-case hex is the same uuid to PostgreSQL; it may be found there (not on SQLite).
        if (raw === done.toUpperCase() && res.statusCode !== 404) {
          expect(res.statusCode, res.body).toBeLessThan(500);
          continue;
        }
        const body = expectError(res, 404, 'TASK_NOT_FOUND');
        expect(body.message).toBe(`no task with id ${raw}`);
      }
    }
    // Longer than any id: refused by the router before the route (see the framework-error test below).
    for (const raw of ['x'.repeat(101), 'x'.repeat(5000), '%ZZ']) {
      for (const [method, path] of actions) {
        const url = `/tasker/tasks/${raw.startsWith('%') ? raw : encodeURIComponent(raw)}${path}`;
        const res = await app.inject({ method, url });
        expect([400, 404, 414], `${method} ${url.slice(0, 60)}: ${res.body}`).toContain(res.statusCode);
        expect(typeof res.json<ErrorBody>().error).toBe('string');
        expect(res.body).not.toMatch(/\n\s+at /);
      }
    }
    const uuid = expectError(
      await app.inject({ url: '/tasker/tasks/00000000-0000-7000-8000-000000000000' }),
      404,
      'TASK_NOT_FOUND',
    );
    expect(uuid.message).toBe('no task with id 00000000-0000-7000-8000-000000000000');
    expect(uuid.details).toEqual({ taskId: '00000000-0000-7000-8000-000000000000' });
    expectError(await app.inject({ url: '/tasker/tasks/not-a-uuid' }), 404, 'TASK_NOT_FOUND');

    const retry = expectError(
      await app.inject({ method: 'POST', url: `/tasker/tasks/${done}/retry` }),
      409,
      'ILLEGAL_TRANSITION',
    );
    expect(retry.message).toMatch(/complete/);
    expectError(
      await app.inject({ method: 'POST', url: `/tasker/tasks/${done}/cancel` }),
      409,
      'ILLEGAL_TRANSITION',
    );
    const step = expectError(
      await app.inject({
        method: 'POST',
        url: `/tasker/tasks/${failedId}/steps/no_such_step/resolve`,
        payload: {},
      }),
      404,
      'STEP_NOT_FOUND',
    );
    expect(step.message).toContain('no_such_step');
    expect((await tasker.getTask(done)).task.status).toBe('complete');

    for (const [method, url] of [
      ['GET', '/tasker/nope'],
      ['GET', '/tasker'],
      ['GET', '/tasker/'],
      ['DELETE', `/tasker/tasks/${done}`],
      ['PUT', '/tasker/tasks'],
      ['PATCH', `/tasker/tasks/${done}`],
      ['GET', `/tasker/tasks/${done}/cancel`],
      ['POST', '/tasker/health/live'],
      ['GET', `/tasker/tasks/${done}/transitions/extra`],
    ] as const) {
      const body = expectError(await app.inject({ method, url }), 404, 'ROUTE_NOT_FOUND');
      expect(body.message).toBe(`no route ${method} ${url}`);
    }
    const query = expectError(await app.inject({ url: '/tasker/nope?a=1' }), 404, 'ROUTE_NOT_FOUND');
    expect(query.message).toBe('no route GET /tasker/nope');
    // Outside the mount point the host server answers (Fastify's own 404 JSON, no stable code).
    const outside = await app.inject({ url: '/elsewhere' });
    expect(outside.statusCode).toBe(404);
    expect(typeof outside.json<ErrorBody>().error).toBe('string');
    expect((await tasker.getTask(done)).task.status).toBe('complete');
  });

  // BUG (reported): src/api/server.ts builds Fastify without `frameworkErrors`, so the router's own errors
  // (FST_ERR_BAD_URL for a malformed percent-encoding, FST_ERR_MAX_PARAM_LENGTH for a path segment over 100
  // characters, answered 414) bypass the plugin: Fastify's `{"error":"Bad Request","code":"FST_ERR_…",
  // "statusCode":…}` instead of a stable code, and no X-Correlation-ID. Flip to `it` once fixed.
  it('answers router-level errors (bad percent-encoding, over-long ids) in the API error format', async () => {
    const tasker = await engine(EXPECTED_FAIL);
    const app = await server(tasker);
    for (const url of ['/tasker/tasks/%ZZ', '/tasker/%E0%A4%A', `/tasker/tasks/${'x'.repeat(5000)}`]) {
      const res = await app.inject({ url, headers: { 'x-correlation-id': 'abc-123' } });
      expect(res.headers['x-correlation-id']).toBe('abc-123');
      expect([400, 404]).toContain(res.statusCode);
      expect(['INVALID_ARGUMENT', 'TASK_NOT_FOUND', 'ROUTE_NOT_FOUND']).toContain(
        res.json<ErrorBody>().error,
      );
    }
  });

  // BUG (reported): the plugin keeps Fastify's default text/plain parser, so a text/plain body is parsed as
  // a string and refused as `400 INVALID_ARGUMENT "body must be object"` rather than 415 like every other
  // non-JSON type. Flip to `it` once text/plain is refused as unsupported.
  it('refuses a text/plain body as 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const tasker = await engine(EXPECTED_FAIL);
    const app = await server(tasker);
    const res = await app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify(charge()),
    });
    expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  // BUG (reported): a context nested ~2,000-4,000 levels deep passes tasker.ts draft() → core/json.ts
  // toJsonValue (its JSON.stringify fits the stack there) but overflows the stack in the store's own
  // JSON.stringify (sqlite-store.ts insertTask; postgres-store.ts createTasks), deeper in the call stack,
  // where the RangeError is not caught: 500 INTERNAL. Deeper still, toJsonValue catches it (400
  // NOT_SERIALIZABLE). Expected: every depth refused (or stored) with a 4xx/2xx. Flip to `it` once fixed.
  it('answers a deeply nested context with a 4xx at every depth, never 500', async () => {
    const tasker = await engine(EXPECTED_FAIL);
    const app = await server(tasker);
    const failing: number[] = [];
    for (let depth = 250; depth <= 12_000; depth += 250) {
      const deep = '['.repeat(depth) + ']'.repeat(depth);
      const res = await app.inject({
        method: 'POST',
        url: '/tasker/tasks',
        headers: { 'content-type': 'application/json' },
        payload: `{"namespace":"payments","name":"charge","context":{"amount":1,"currency":"EUR","deep":${deep}}}`,
      });
      if (res.statusCode >= 500) failing.push(depth);
    }
    expect(failing).toEqual([]);
  });

  // BUG (reported): `1e400` parses to Infinity, which passes the context_schema (a number >= 0), and is then
  // stored as null by the JSON round trip (core/json.ts toJsonValue): the task is created with
  // `amount: null`, which its schema forbids, and handlers see null. Expected: 400 CONTEXT_INVALID naming
  // context.amount (validate the stored form, or refuse non-finite numbers). Flip to `it` once fixed.
  it('refuses a context number that overflows to Infinity instead of storing null', async () => {
    const tasker = await engine(EXPECTED_FAIL);
    const app = await server(tasker);
    const res = await app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      headers: { 'content-type': 'application/json' },
      payload: '{"namespace":"payments","name":"charge","context":{"amount":1e400,"currency":"EUR"}}',
    });
    const body = expectError(res, 400, 'CONTEXT_INVALID');
    expect(body.message).toContain('amount');
  });

  it('treats SQL-looking filter values as plain values', async () => {
    const tasker = await engine();
    const app = await server(tasker);
    const ids = [await createAndWait(tasker, charge()), await createAndWait(tasker, charge({ fail: true }))];
    const evil = [
      "' OR 1=1 --",
      '"; DROP TABLE tasks; --',
      "payments' OR 'a'='a",
      "'; DELETE FROM tasks; --",
      '1); DROP TABLE task_tags; --',
      '%',
      '_',
      '\\',
      '$1',
      '?',
    ];
    for (const value of evil) {
      for (const key of ['namespace', 'name', 'version', 'correlation_id', 'tag']) {
        const res = await app.inject({ url: `/tasker/tasks?${key}=${encodeURIComponent(value)}` });
        expect(res.statusCode, `${key}=${value}: ${res.body}`).toBe(200);
        expect(res.json<TaskList>()).toEqual({ tasks: [], next_cursor: null, limit: 50 });
      }
      for (const route of ['business-impact', 'bottlenecks']) {
        for (const key of ['namespace', 'name']) {
          const res = await app.inject({
            url: `/tasker/analytics/${route}?${key}=${encodeURIComponent(value)}`,
          });
          expect(res.statusCode, `${route} ${key}=${value}: ${res.body}`).toBe(200);
          expect(res.json<{ sample: { tasks_examined: number } }>().sample.tasks_examined).toBe(0);
        }
      }
    }
    // The tables are intact: the tasks are all there, and a new one is created and runs.
    const all = (await app.inject({ url: '/tasker/tasks' })).json<TaskList>();
    expect(new Set(all.tasks.map((t) => t.id))).toEqual(new Set(ids));
    const created = await app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      payload: { ...charge(), tags: ["' OR 1=1 --"] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<TaskSummary>().id;
    expect((await tasker.waitForTask(id, { timeoutMs: 10_000, pollMs: 20 })).status).toBe('complete');
    const tagged = (
      await app.inject({ url: `/tasker/tasks?tag=${encodeURIComponent("' OR 1=1 --")}` })
    ).json<TaskList>();
    expect(tagged.tasks.map((t) => t.id)).toEqual([id]);
  });

  // created_after feeds a UUIDv7 floor (a uuid on PostgreSQL): a millisecond past 2^48 must not break it.
  it('answers a far-future created_after without a 5xx', async () => {
    const tasker = await engine({ start: false });
    const app = await server(tasker);
    for (const value of ['281474976710655', '281474976710656', '999999999999999', '9999-12-31T23:59:59Z']) {
      const res = await app.inject({ url: `/tasker/tasks?created_after=${value}` });
      if (res.statusCode === 400) {
        expect(expectError(res, 400, 'INVALID_ARGUMENT').message).toContain('created_after');
      } else {
        expect(res.statusCode, `${value}: ${res.body}`).toBe(200);
        expect(res.json<TaskList>().tasks).toEqual([]);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// 3. Refusal to serve an open API beyond loopback

describe('refusing an open API on a public address', () => {
  it('throws CONFIG_INVALID naming the host without tokens; builds when allowed or with tokens', async () => {
    const tasker = await engine({ start: false });
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) {
      const err = await buildServer(tasker, { host, processMetrics: false }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TaskerError);
      expect((err as TaskerError).code).toBe('CONFIG_INVALID');
      expect((err as TaskerError).message).toContain(`refusing to serve on ${host}`);
      expect((err as TaskerError).details).toEqual({ host });
      const empty = await buildServer(tasker, { host, tokens: [], processMetrics: false }).catch(
        (e: unknown) => e,
      );
      expect((empty as TaskerError).code).toBe('CONFIG_INVALID');
    }
    const open = await server(tasker, { host: '0.0.0.0', allowUnauthenticated: true });
    expect((await open.inject({ url: '/tasker/tasks' })).statusCode).toBe(200);
    const guarded = await server(tasker, { host: '0.0.0.0', tokens: TOKENS });
    expectError(await guarded.inject({ url: '/tasker/tasks' }), 401, 'UNAUTHORIZED');
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) {
      const app = await server(tasker, { host });
      expect((await app.inject({ url: '/tasker/tasks' })).statusCode).toBe(200);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// 4. Fuzz

/** mulberry32: small, fast, deterministic. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}

describe('fuzz', () => {
  it('answers 3,000 random malformed requests with 4xx JSON or success, never 5xx', async () => {
    const tasker = await engine();
    const app = await server(tasker, { tokens: TOKENS, bodyLimit: 256 * 1024 });
    const done = await createAndWait(tasker, charge());
    const failed = await createAndWait(tasker, charge({ fail: true }));
    const other = await createAndWait(tasker, { namespace: 'inventory', name: 'reserve', context: {} });
    const r = prng(0x7a5c3e);

    const junk = () =>
      r.pick([
        '',
        'x',
        '%00',
        '%ZZ',
        '%',
        '%E2%98',
        '%E2%98%83',
        '%F0%9F%92%A9',
        '%C0%AF',
        '..',
        '.',
        '%2e%2e',
        '..%2F..%2Fetc%2Fpasswd',
        '__proto__',
        'constructor',
        'prototype',
        encodeURIComponent("' OR 1=1 --"),
        encodeURIComponent('"; DROP TABLE tasks; --'),
        encodeURIComponent('☃'.repeat(30)),
        'a'.repeat(r.int(300)),
        'b'.repeat(5000),
        Array.from({ length: r.int(40) }, () => `%${r.int(256).toString(16).padStart(2, '0')}`).join(''),
        String(r.int(1e9)),
        '-1',
        'null',
        'undefined',
      ]);
    const id = () =>
      r.pick([
        done,
        failed,
        other,
        '00000000-0000-7000-8000-000000000000',
        'ffffffff-ffff-ffff-ffff-ffffffffffff',
        done.toUpperCase(),
        `${done}x`,
        done.slice(0, -1),
        junk(),
      ]);
    const step = () => r.pick(['authorize', 'capture', 'reserve', 'nope', junk()]);
    const path = () =>
      r.pick([
        '/tasker/tasks',
        '/tasker/tasks/',
        `/tasker/tasks/${id()}`,
        `/tasker/tasks/${id()}/transitions`,
        `/tasker/tasks/${id()}/cancel`,
        `/tasker/tasks/${id()}/retry`,
        `/tasker/tasks/${id()}/steps/${step()}/resolve`,
        `/tasker/tasks/${id()}/steps/${step()}`,
        `/tasker/tasks/${id()}/${junk()}`,
        '/tasker/analytics/business-impact',
        '/tasker/analytics/bottlenecks',
        `/tasker/analytics/${junk()}`,
        '/tasker/handlers',
        '/tasker/health',
        '/tasker/health/live',
        '/tasker/health/ready',
        '/tasker/metrics',
        '/tasker/openapi.json',
        `/tasker/${junk()}`,
        `/tasker/${junk()}/${junk()}`,
        '/tasker//tasks',
        '/tasker/./tasks',
        '/tasker/tasks/../handlers',
        '/tasker',
        `/${junk()}`,
      ]);
    const KEYS = [
      'status',
      'namespace',
      'name',
      'version',
      'correlation_id',
      'tag',
      'created_after',
      'created_before',
      'include_dependencies',
      'include_business_metrics',
      'limit',
      'cursor',
      'time_range',
      'bogus',
      '__proto__',
      'constructor',
      'hasOwnProperty',
      '',
      'status[]',
      'a[b]',
      'limit[0]',
    ];
    const value = (): string =>
      r.pick([
        '',
        String(r.int(2000) - 500),
        'abc',
        '1e3',
        '1.5',
        'true',
        'false',
        'null',
        'pending',
        'completed,failed',
        'bogus',
        'payments',
        'inventory',
        '15m',
        '999d',
        '0h',
        '5y',
        '2024-01-15',
        '2024-13-45',
        '999999999999999',
        Buffer.from(done).toString('base64url'),
        Buffer.from('nope').toString('base64url'),
        encodeURIComponent("' OR 1=1 --"),
        encodeURIComponent('☃😀\u202e'),
        '%00',
        '%ZZ',
        '%',
        'x'.repeat(r.int(3000)),
        'y'.repeat(20_000),
        junk(),
      ]);
    const query = () => {
      if (r.chance(0.3)) return '';
      const n = 1 + r.int(5);
      const parts: string[] = [];
      for (let i = 0; i < n; i++) {
        const key = r.pick(KEYS);
        parts.push(r.chance(0.1) ? key : `${key}=${value()}`);
      }
      return `?${parts.join(r.chance(0.05) ? ';' : '&')}${r.chance(0.05) ? '&&&' : ''}`;
    };
    const nest = (depth: number, open: string, close: string) => open.repeat(depth) + close.repeat(depth);
    // Context nesting between ~2,000 and ~4,000 levels is a known 500 (see the `it.fails` test of deep
    // contexts); the fuzz stays below and above that window so it keeps guarding everything else.
    const depth = () => (r.chance(0.5) ? 1 + r.int(1500) : 20_000 + r.int(30_000));
    const body = (): string | undefined =>
      r.pick<() => string | undefined>([
        () => undefined,
        () => '',
        () => '{',
        () => '}',
        () => '{"namespace":',
        () => '[1,2,',
        () => 'null',
        () => '[]',
        () => '"string"',
        () => '42',
        () => 'true',
        () => '\u0000\u0001',
        () => '\ufeff{}',
        () => JSON.stringify(charge()),
        () => JSON.stringify(charge({ note: '☃'.repeat(r.int(100)) })),
        () => JSON.stringify({ namespace: 'payments', name: 'charge', context: { amount: 'ten' } }),
        () => JSON.stringify({ namespace: 'inventory', name: 'reserve', context: { i: r.int(10) } }),
        () => JSON.stringify({ namespace: 123, name: ['charge'], context: 'x' }),
        () => JSON.stringify({ namespace: 'payments', name: 'charge', context: [], tags: 'x' }),
        () => JSON.stringify({ ...charge(), tags: Array.from({ length: 100 }, (_, i) => `t${i}`) }),
        () => JSON.stringify({ ...charge(), tags: [''] }),
        () => JSON.stringify({ ...charge(), version: '' }),
        () => JSON.stringify({ ...charge(), correlation_id: 'x'.repeat(200) }),
        () => JSON.stringify({ ...charge(), idempotency_key: `k${r.int(5)}` }),
        () => JSON.stringify({ ...charge({ items: Array.from({ length: 20_000 }, (_, i) => i) }) }),
        () => JSON.stringify({ reason: r.pick(['x', 42, null, 'x'.repeat(3000)]) }),
        () => JSON.stringify({ results: { ok: true }, reason: 'r' }),
        () => JSON.stringify({ results: Array.from({ length: 5000 }, () => ({})) }),
        () => nest(1 + r.int(50_000), '[', ']'),
        () =>
          `{"namespace":"payments","name":"charge","context":{"amount":1,"currency":"EUR","deep":${nest(depth(), '[', ']')}}}`,
        () => `${'{"a":'.repeat(1 + r.int(5000))}1${'}'.repeat(1 + r.int(5000))}`,
        () => '{"__proto__":{"polluted":true},"namespace":"payments","name":"charge"}',
        () =>
          '{"namespace":"payments","name":"charge","context":{"amount":1,"currency":"EUR","__proto__":{"polluted":true}}}',
        () => '{"constructor":{"prototype":{"polluted":true}}}',
        () =>
          '{"namespace":"payments","name":"charge","context":{"amount":1,"currency":"EUR","constructor":{"prototype":{"polluted":true}}}}',
        () => `{"reason":"${'\\ud800'.repeat(3)}"}`,
        () => `{"namespace":"payments","name":"charge","context":{"amount":1e400,"currency":"EUR"}}`,
        () => '{"namespace":"payments","name":"charge","namespace":"inventory"}',
        () => Buffer.from(Array.from({ length: 64 }, () => r.int(256))).toString('latin1'),
      ])();
    const CONTENT_TYPES = [
      undefined,
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'APPLICATION/JSON',
      'application/json;',
      'application/jsonx',
      'application/vnd.api+json',
      'text/plain',
      'text/html',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=----x',
      'application/octet-stream',
      '',
      '*/*',
      ';;;',
    ];
    const AUTH = [
      undefined,
      `Bearer ${SECRETS.admin}`,
      `Bearer ${SECRETS.admin}`,
      `Bearer ${SECRETS.admin}`,
      `Bearer ${SECRETS.reader}`,
      `Bearer ${SECRETS.payments}`,
      'Bearer wrong',
      'Bearer',
      'Basic x',
      `bearer ${SECRETS.admin}`,
      `Bearer ${SECRETS.admin} ${SECRETS.admin}`,
      `Bearer ${'x'.repeat(8000)}`,
      'Bearer \u00e9\u00e8',
    ];
    const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

    const problems: string[] = [];
    const statuses = new Map<number, number>();
    const t0 = Date.now();
    for (let i = 0; i < 3000; i++) {
      const method = r.pick(METHODS);
      // POSTs lean towards creation, so bodies reach the schema, the template and the store.
      const url = (method === 'POST' && r.chance(0.3) ? '/tasker/tasks' : path()) + query();
      const headers: Record<string, string> = {};
      // Mostly the admin token, so most requests get past authentication into the routes.
      const auth = r.chance(0.6) ? `Bearer ${SECRETS.admin}` : r.pick(AUTH);
      if (auth !== undefined) headers.authorization = auth;
      const payload = method === 'GET' && r.chance(0.8) ? undefined : body();
      const type = payload !== undefined && r.chance(0.6) ? 'application/json' : r.pick(CONTENT_TYPES);
      if (type !== undefined && (payload !== undefined || r.chance(0.2))) headers['content-type'] = type;
      if (r.chance(0.2)) headers['x-correlation-id'] = r.pick(['abc-123', 'bad id!', 'z'.repeat(150), '']);
      if (r.chance(0.05)) headers['content-length'] = String(r.int(100));
      if (r.chance(0.05)) headers.accept = r.pick(['text/html', 'application/xml', '*/*']);
      const what = `#${i} ${method} ${url.slice(0, 160)} ${JSON.stringify(headers).slice(0, 200)} body=${String(payload).slice(0, 80)}`;
      let res: LightMyRequestResponse;
      try {
        res = await app.inject({ method, url, headers, ...(payload !== undefined ? { payload } : {}) });
      } catch (err) {
        problems.push(`${what}: inject threw ${String(err)}`);
        continue;
      }
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode >= 500) {
        problems.push(`${what}: ${res.statusCode} ${res.body.slice(0, 300)}`);
        continue;
      }
      if (res.statusCode >= 400) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(res.body);
        } catch {
          problems.push(`${what}: ${res.statusCode} non-JSON body ${res.body.slice(0, 200)}`);
          continue;
        }
        const e = parsed as Partial<ErrorBody> | null;
        if (typeof e?.error !== 'string' || typeof e.message !== 'string')
          problems.push(`${what}: ${res.statusCode} body without error/message: ${res.body.slice(0, 200)}`);
        else if (/\n\s+at /.test(res.body)) problems.push(`${what}: stack trace in body`);
      }
    }
    const elapsed = Date.now() - t0;
    expect(
      problems.slice(0, 10),
      `${problems.length} problems; statuses ${JSON.stringify([...statuses])}`,
    ).toEqual([]);
    // The fuzz reached the routes, not just the 404 handler and the auth hook.
    for (const s of [200, 400, 401, 404]) expect(statuses.get(s) ?? 0, `status ${s}`).toBeGreaterThan(20);
    expect(elapsed).toBeLessThan(25_000);
    // Nothing was logged as a failed request (the error handler logs every 5xx at error level).
    // (Lifecycle lines — a step failing, with an `event` field — are the engine's, not request errors.)
    expect(logLines.filter((l) => l.level >= 50 && l.event === undefined).map((l) => l.msg)).toEqual([]);
    // No prototype was polluted.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');

    // The engine still works: a task created through the API runs to completion.
    const created = await app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      headers: ADMIN,
      payload: charge(),
    });
    expect(created.statusCode, created.body).toBe(201);
    const newId = created.json<TaskSummary>().id;
    expect((await tasker.waitForTask(newId, { timeoutMs: 10_000, pollMs: 20 })).status).toBe('complete');
    const detail = await app.inject({ url: `/tasker/tasks/${newId}`, headers: ADMIN });
    expect(detail.json<TaskDetail>().status).toBe('completed');
    expect((await app.inject({ url: '/tasker/health/ready' })).statusCode).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------------------
// 5. Redaction

describe('redaction of task contexts', () => {
  const context = {
    amount: 25,
    currency: 'EUR',
    order_id: 'ORD-991',
    password: 'hunter2',
    customer: {
      name: 'Ada',
      email: 'ada@example.com',
      payment: { card_number: '4111111111111111', brand: 'visa' },
    },
    integrations: [
      { service: 'stripe', api_key: 'sk_live_abc123' },
      { service: 'mailer', region: 'eu' },
    ],
  };
  const SECRET_VALUES = ['hunter2', '4111111111111111', 'sk_live_abc123'];

  it('masks sensitive keys (nested, inside arrays) in every response and keeps the rest', async () => {
    const tasker = await engine();
    const app = await server(tasker);
    const created = await app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      payload: { namespace: 'payments', name: 'charge', context },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<TaskSummary>().id;
    await tasker.waitForTask(id, { timeoutMs: 10_000, pollMs: 20 });
    const expected = {
      amount: 25,
      currency: 'EUR',
      order_id: 'ORD-991',
      password: '[FILTERED]',
      customer: {
        name: 'Ada',
        email: 'ada@example.com',
        payment: { card_number: '[FILTERED]', brand: 'visa' },
      },
      integrations: [
        { service: 'stripe', api_key: '[FILTERED]' },
        { service: 'mailer', region: 'eu' },
      ],
    };
    expect(created.json<TaskDetail>().context).toEqual(expected);
    for (const url of [
      `/tasker/tasks/${id}`,
      `/tasker/tasks/${id}?include_dependencies=true&include_business_metrics=true`,
    ]) {
      const res = await app.inject({ url });
      expect(res.statusCode).toBe(200);
      expect(res.json<TaskDetail>().context).toEqual(expected);
      for (const secret of SECRET_VALUES) expect(res.body).not.toContain(secret);
    }
    for (const url of [`/tasker/tasks?include_dependencies=true`, `/tasker/tasks/${id}/transitions`]) {
      const res = await app.inject({ url });
      expect(res.statusCode).toBe(200);
      for (const secret of SECRET_VALUES) expect(res.body).not.toContain(secret);
    }
    // The stored context is untouched: redaction is presentation only.
    expect((await tasker.getTask(id)).task.context).toEqual(context);
  });

  it('masks the keys of a custom filterParameters list', async () => {
    const tasker = await engine({ filterParameters: ['order_id'] });
    const app = await server(tasker);
    const created = await app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      payload: { namespace: 'payments', name: 'charge', context: { ...context, nested: [{ ORDER_ID: 7 }] } },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<TaskSummary>().id;
    const res = await app.inject({ url: `/tasker/tasks/${id}` });
    const shown = res.json<TaskDetail>().context;
    expect(shown).toMatchObject({
      amount: 25,
      currency: 'EUR',
      order_id: '[FILTERED]',
      nested: [{ ORDER_ID: '[FILTERED]' }],
      customer: { name: 'Ada' },
    });
    expect(res.body).not.toContain('ORD-991');
  });
});
