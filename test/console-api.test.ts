/**
 * The API routes the console reads, on either store: who am I, the worker registry, a task's attempts and
 * why each step waits, throughput buckets, template coverage by live workers, and the live stream (real
 * HTTP, read with fetch as the console does), each with a namespace-limited token where it matters.
 */
import type { FastifyInstance } from 'fastify';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/api/auth.js';
import { buildServer, serve } from '../src/api/server.js';
import { createTasker, type StepHandlerContext, type Tasker } from '../src/index.js';
import { FAST_RETRY, sleep, startEngine, templatesFromYaml } from './support/harness.js';
import { openSse } from './support/sse.js';

const SHOP = `
namespace: shop
name: order
version: 1.0.0
steps:
  - { name: check, handler: check, handler_config: { api_token: s3cr3t, region: eu } }
  - name: pay
    handler: pay
    depends_on: [check]
    timeout_seconds: 5
    retry: { max_attempts: 3, backoff: { base_seconds: 60, multiplier: 1, max_seconds: 60, jitter: 0 } }
  - { name: ship, handler: ship, depends_on: [pay] }
`;
const BILLING = `
namespace: billing
name: invoice
version: 2.0.0
steps:
  - { name: draft, handler: draft, sla_seconds: 2 }
  - { name: send, handler: mail, depends_on: [draft], ${FAST_RETRY} }
`;

/** `gate` holds `pay` until opened; `pay` fails when the context says so. */
function shopHandlers() {
  let open: () => void = () => {};
  const gate = new Promise<void>((r) => (open = r));
  return {
    open: () => open(),
    handlers: {
      check: () => ({ checked: true, password: 'hunter2' }),
      pay: async ({ task }: StepHandlerContext) => {
        if (task.context.fail) throw new Error('card declined');
        if (task.context.hold) await gate;
        return { paid: true };
      },
      ship: () => ({ shipped: true }),
      draft: () => ({}),
    },
  };
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

const TOKENS = {
  admin: { name: 'ops', token: 'admin-token-1', scopes: ['admin'] },
  reader: { name: 'viewer', token: 'read-token-1', scopes: ['tasks:read'] },
  billing: {
    name: 'billing-team',
    token: 'billing-token-1',
    scopes: ['tasks:read'],
    namespaces: ['billing'],
  },
} as const;
const tokens = Object.values(TOKENS).map((t) => ({
  name: t.name,
  tokenSha256: sha256Hex(t.token),
  scopes: [...t.scopes],
  namespaces: 'namespaces' in t ? [...t.namespaces] : undefined,
}));
const bearer = (t: { token: string }) => ({ authorization: `Bearer ${t.token}` });

async function api(tasker: Tasker, options: Parameters<typeof buildServer>[1] = {}) {
  const app = await buildServer(tasker, { processMetrics: false, ...options });
  apps.push(app);
  return async (url: string, headers: Record<string, string> = {}) => {
    const r = await app.inject({ method: 'GET', url, headers });
    return { status: r.statusCode, body: r.json<Record<string, any>>() };
  };
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > deadline) return v;
    await sleep(25);
  }
}

describe('console API', () => {
  it('GET /whoami: the caller, its scopes and namespace limits; 401 without a token when tokens are set', async () => {
    const { tasker } = await startEngine(SHOP, shopHandlers().handlers, { start: false });
    const open = await api(tasker);
    expect((await open('/tasker/whoami')).body).toEqual({
      name: 'anonymous',
      scopes: ['tasks:read', 'tasks:write', 'analytics:read', 'metrics:read', 'admin'],
      namespaces: null,
      auth_required: false,
      trace_url: null,
    });
    const get = await api(tasker, { tokens });
    expect((await get('/tasker/whoami')).status).toBe(401);
    expect((await get('/tasker/whoami', bearer(TOKENS.reader))).body).toEqual({
      name: 'viewer',
      scopes: ['tasks:read'],
      namespaces: null,
      auth_required: true,
      trace_url: null,
    });
    expect((await get('/tasker/whoami', bearer(TOKENS.billing))).body).toMatchObject({
      name: 'billing-team',
      namespaces: ['billing'],
    });
  });

  it('GET /workers: a started worker is live with its handlers, slots and in-flight steps; stopped and lost ones are told apart', async () => {
    const { handlers, open } = shopHandlers();
    const { tasker, database } = await startEngine([SHOP, BILLING], handlers, { concurrency: 3 });
    const get = await api(tasker, { tokens });
    const { task } = await tasker.createTask({ namespace: 'shop', name: 'order', context: { hold: true } });
    const busy = await until(
      () => get('/tasker/workers', bearer(TOKENS.admin)),
      (r) => r.body.workers?.[0]?.in_flight === 1,
    );
    const [w] = busy.body.workers;
    expect(w).toMatchObject({
      status: 'live',
      pid: process.pid,
      concurrency: 3,
      in_flight: 1,
      handlers: ['check', 'draft', 'pay', 'ship'],
      stopped_at: null,
    });
    expect(Date.parse(w.expires_at) - Date.parse(w.last_heartbeat_at)).toBe(30_000);
    expect(busy.body).toMatchObject({ live_workers: 1, slots_total: 3, slots_in_use: 1 });

    // Unknown parameters are errors, as everywhere in the API.
    const odd = await get('/tasker/workers?verbose=1', bearer(TOKENS.admin));
    expect(odd.status).toBe(400);
    expect(odd.body.message).toContain('verbose');
    // The billing token sees the worker only through its own namespace's handlers.
    const billing = await get('/tasker/workers', bearer(TOKENS.billing));
    expect(billing.body.workers.map((x: any) => x.handlers)).toEqual([['draft']]);

    // Another worker on the same database stops cleanly; a third vanished without a word (lost).
    const other = await createTasker({
      database,
      templates: templatesFromYaml(SHOP),
      handlers: { check: () => 1, pay: () => 1, ship: () => 1 },
      logger: false,
      workerId: 'clean-stop',
    });
    other.start();
    await other.close();
    const lost = await createTasker({
      database,
      templates: templatesFromYaml(SHOP),
      handlers: { check: () => 1 },
      logger: false,
      workerId: 'vanished',
      leaseSeconds: 0.5,
    });
    lost.start();
    await until(
      () => get('/tasker/workers', bearer(TOKENS.admin)),
      (r) => r.body.workers.some((x: any) => x.id === 'vanished'),
    );
    // Kill its timers without the clean stop (what SIGKILL leaves behind): close the store under it.
    await (lost as unknown as { store: { close(): Promise<void> } }).store.close();
    const after = await until(
      () => get('/tasker/workers', bearer(TOKENS.admin)),
      (r) => r.body.workers.find((x: any) => x.id === 'vanished')?.status === 'lost',
      5000,
    );
    const byId = new Map(after.body.workers.map((x: any) => [x.id, x]));
    expect(byId.get('clean-stop')).toMatchObject({ status: 'stopped', in_flight: 0 });
    expect((byId.get('clean-stop') as any).stopped_at).not.toBeNull();
    expect(byId.get('vanished')).toMatchObject({ status: 'lost', stopped_at: null });
    expect(after.body.live_workers).toBe(1);
    open();
    await tasker.waitForTask(task.id, { timeoutMs: 10_000 });
    await lost.close().catch(() => {});
  });

  it('GET /tasks/:id?include_attempts: attempts with queue and backoff times, redacted results and config, the trace id', async () => {
    const { tasker } = await startEngine(SHOP, shopHandlers().handlers, {
      filterParameters: ['token', 'password'],
    });
    const get = await api(tasker);
    const { task } = await tasker.createTask({ namespace: 'shop', name: 'order', context: { fail: true } });
    // pay fails once, then waits a 60 s backoff.
    const d = await until(
      () => get(`/tasker/tasks/${task.id}?include_attempts=true&include_dependencies=true`),
      (r) => r.body.steps?.[1]?.status === 'waiting_for_retry',
    );
    expect(d.body.trace_id).toBe(task.id.replaceAll('-', ''));
    const [check, pay, ship] = d.body.steps;
    expect(check.results).toEqual({ checked: true, password: '[FILTERED]' });
    expect(check.handler_config).toEqual({ api_token: '[FILTERED]', region: 'eu' });
    expect(pay).toMatchObject({
      status: 'waiting_for_retry',
      attempts: 1,
      timeout_seconds: 5,
      worker_id: null,
    });
    expect(Date.parse(pay.ready_at) - Date.parse(d.body.attempts[1].finished_at)).toBe(60_000);
    const attempts = d.body.attempts;
    expect(attempts.map((a: any) => [a.step_name, a.attempt, a.outcome])).toEqual([
      ['check', 1, 'complete'],
      ['pay', 1, 'retry'],
    ]);
    const me = (await tasker.listWorkers())[0]?.id;
    for (const a of attempts) {
      expect(Date.parse(a.queued_at)).toBeLessThanOrEqual(Date.parse(a.started_at));
      expect(a.worker_id).toBe(me);
    }
    // pay became ready when check finished: its queue wait starts there.
    expect(attempts[1].queued_at).toBe(attempts[0].finished_at);
    expect(attempts[1]).toMatchObject({ error_type: 'Error', error_message: 'card declined' });
    // Why: pay is in backoff, ship waits for it.
    expect(pay.wait).toMatchObject({
      reason: 'retry_backoff',
      attempt: 1,
      max_attempts: 3,
      last_error_message: 'card declined',
      until: pay.ready_at,
    });
    expect(ship.wait).toMatchObject({
      reason: 'waiting_for_dependency',
      dependencies: [{ step: 'pay', status: 'waiting_for_retry', reason: 'retry_backoff' }],
    });
    expect(check.wait).toBeUndefined();
    // Without the flags the detail stays as it was: no attempts, no results, no waits.
    const plain = await get(`/tasker/tasks/${task.id}`);
    expect(plain.body.attempts).toBeUndefined();
    expect(plain.body.steps[0].results).toBeUndefined();
    expect(plain.body.steps[1].wait).toBeUndefined();
    await tasker.cancelTask(task.id);
  });

  it('why a step waits: running on a named worker, no free slot, and no live worker with its handler', async () => {
    const { handlers, open } = shopHandlers();
    const { tasker, database } = await startEngine([SHOP, BILLING], handlers, { concurrency: 1 });
    const get = await api(tasker);
    const held = await tasker.createTask({ namespace: 'shop', name: 'order', context: { hold: true } });
    const queued = await tasker.createTask({ namespace: 'shop', name: 'order' });
    const run = await until(
      () => get(`/tasker/tasks/${held.task.id}?include_dependencies=true`),
      (r) => r.body.steps?.[1]?.status === 'in_progress',
    );
    const me = (await tasker.listWorkers())[0]?.id;
    expect(run.body.steps[1].wait).toMatchObject({ reason: 'running', worker_id: me, worker_alive: true });
    expect(run.body.steps[1].worker_id).toBe(me);
    expect(run.body.steps[1].wait.message).toContain(`on worker ${me}`);
    // The only slot is taken: the other order's first step is ready but waits for it.
    const full = await get(`/tasker/tasks/${queued.task.id}?include_dependencies=true`);
    expect(full.body.steps[0].wait).toMatchObject({
      reason: 'no_free_slot',
      slots_in_use: 1,
      slots_total: 1,
      live_workers: 1,
      backlog: 1,
      ahead: 0,
    });
    // A billing invoice: this worker has `draft` but nobody has `mail`... first draft runs, then send waits.
    const api2 = await createTasker({ database, templates: templatesFromYaml(BILLING), logger: false });
    const inv = await api2.createTask({ namespace: 'billing', name: 'invoice' });
    open();
    const noWorker = await until(
      () => get(`/tasker/tasks/${inv.task.id}?include_dependencies=true`),
      (r) => r.body.steps?.[1]?.wait?.reason === 'no_worker_for_handler',
    );
    expect(noWorker.body.steps[1].wait).toMatchObject({ handler: 'mail', live_workers: 1 });
    expect(noWorker.body.steps[1].wait.message).toContain('has handler "mail"');
    await api2.close();
  });

  it('GET /analytics/throughput: created, completed and failed per bucket and template; tasks in progress and ready steps now', async () => {
    const { tasker } = await startEngine([SHOP, BILLING], { ...shopHandlers().handlers, mail: () => ({}) });
    const get = await api(tasker, { tokens });
    const made = await tasker.createTasks([
      { namespace: 'shop', name: 'order' },
      { namespace: 'shop', name: 'order' },
      { namespace: 'shop', name: 'order', context: { fail: true } },
      { namespace: 'billing', name: 'invoice' },
    ]);
    await tasker.waitForTask(made[0]!.task.id);
    await tasker.waitForTask(made[1]!.task.id);
    const r = await get('/tasker/analytics/throughput?time_range=15m&bucket=1m', bearer(TOKENS.admin));
    expect(r.status).toBe(200);
    expect(r.body.bucket_seconds).toBe(60);
    expect(r.body.buckets.length).toBeGreaterThanOrEqual(15);
    expect(Date.parse(r.body.buckets[0]) % 60_000).toBe(0);
    const shop = r.body.series.find((s: any) => s.namespace === 'shop');
    const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(total(shop.created)).toBe(3);
    expect(total(shop.completed)).toBe(2);
    // The third order is in backoff (60 s): in progress, not failed.
    expect(total(shop.failed)).toBe(0);
    expect(r.body.in_progress).toContainEqual({ namespace: 'shop', name: 'order', count: 1 });
    expect(r.body.series.every((s: any) => s.created.length === r.body.buckets.length)).toBe(true);
    // The billing token sees billing only; asking for shop gives nothing.
    const b = await get('/tasker/analytics/throughput?time_range=15m', bearer(TOKENS.billing));
    expect(b.body.series.map((s: any) => s.namespace)).toEqual(['billing']);
    expect(b.body.in_progress.every((x: any) => x.namespace === 'billing')).toBe(true);
    const hidden = await get('/tasker/analytics/throughput?namespace=shop', bearer(TOKENS.billing));
    expect(hidden.body.series).toEqual([]);
    const bad = await get('/tasker/analytics/throughput?time_range=7d&bucket=10s', bearer(TOKENS.admin));
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('bucket');
    await tasker.cancelTask(made[2]!.task.id);
  });

  it('GET /handlers: step settings and how many live workers have each handler', async () => {
    const { tasker } = await startEngine([SHOP, BILLING], shopHandlers().handlers);
    const get = await api(tasker);
    const r = await until(
      () => get('/tasker/handlers'),
      (x) => x.body.live_workers === 1,
    );
    const billing = r.body.templates.find((t: any) => t.namespace === 'billing');
    expect(billing.steps[0]).toMatchObject({ name: 'draft', live_workers: 1, sla_seconds: 2 });
    expect(billing.steps[1]).toMatchObject({
      name: 'send',
      handler: 'mail',
      live_workers: 0,
      retry: {
        max_attempts: 3,
        retryable: true,
        backoff: { base_seconds: 0.01, multiplier: 2, max_seconds: 0.1, jitter: 0 },
      },
    });
  });

  it('GET /stream: changes pushed within a second, only of the namespaces a token sees; the stream cap answers 503', async () => {
    const { tasker } = await startEngine([SHOP, BILLING], { ...shopHandlers().handlers, mail: () => ({}) });
    const { app, url } = await serve(tasker, {
      port: 0,
      tokens,
      processMetrics: false,
      console: { maxStreams: 2 },
    });
    apps.push(app);
    const all = await openSse(`${url}/stream`, bearer(TOKENS.admin));
    const billing = await openSse(`${url}/stream`, bearer(TOKENS.billing));
    expect(all.status).toBe(200);
    await all.next((f) => f.event === 'hello');
    await billing.next((f) => f.event === 'hello');
    const third = await openSse(`${url}/stream`, bearer(TOKENS.reader));
    expect(third.status).toBe(503);
    expect(third.body.error).toBe('STREAM_LIMIT');
    const noAuth = await openSse(`${url}/stream`);
    expect(noAuth.status).toBe(401);

    const t0 = Date.now();
    const { task } = await tasker.createTask({ namespace: 'shop', name: 'order' });
    const seen = await all.next(
      (f) => f.event === 'tasks' && f.data.tasks.some((t: any) => t.id === task.id),
    );
    // Pushed, not found by a slow poll (the figure itself: npm run bench:console; a busy CI machine is slower).
    expect(seen.at - t0).toBeLessThan(3000);
    const done = await all.next(
      (f) =>
        f.event === 'tasks' && f.data.tasks.some((t: any) => t.id === task.id && t.status === 'completed'),
    );
    expect(done.data.tasks.find((t: any) => t.id === task.id)).toMatchObject({
      full_name: 'shop.order@1.0.0',
      steps_total: 3,
      steps_done: 3,
      steps_failed: 0,
    });
    const inv = await tasker.createTask({ namespace: 'billing', name: 'invoice' });
    await billing.next((f) => f.event === 'tasks' && f.data.tasks.some((t: any) => t.id === inv.task.id));
    // The billing stream never carried the shop order.
    expect(
      billing.frames.flatMap((f) => (f.event === 'tasks' ? f.data.tasks : [])).map((t: any) => t.namespace),
    ).not.toContain('shop');
    all.close();
    billing.close();
    // A closed stream frees its place.
    const again = await until(
      async () => {
        const r = await openSse(`${url}/stream`, bearer(TOKENS.reader));
        r.close();
        return r.status;
      },
      (s) => s === 200,
      3000,
    );
    expect(again).toBe(200);
  });

  it('closing the server ends open streams instead of waiting for them', async () => {
    const { tasker } = await startEngine(SHOP, shopHandlers().handlers, { start: false });
    const { app, url } = await serve(tasker, { port: 0, processMetrics: false });
    const s = await openSse(`${url}/stream`);
    await s.next((f) => f.event === 'hello');
    const t0 = Date.now();
    await app.close();
    await s.closed;
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('live stream under a slow browser', () => {
  /** A stream read over a raw socket that the test can stop reading (as a stalled tab does). */
  async function rawStream(url: string) {
    const { hostname, port, pathname } = new URL(`${url}/stream`);
    const socket = connect(Number(port), hostname);
    await new Promise((r) => socket.once('connect', r));
    socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\nAccept: text/event-stream\r\n\r\n`);
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
    return { socket, closed, text: () => text };
  }

  /** Tasks whose stream rows are big (50 tags of 100 characters): a few thousand fill any socket buffer. */
  const bigTasks = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      namespace: 'shop',
      name: 'order',
      tags: Array.from({ length: 50 }, (_, k) => `${'t'.repeat(96)}${String(k).padStart(2, '0')}${i % 10}`),
    }));

  /** An engine and a server with quick stream timing, and a helper that runs 3,000 big tasks to the end. */
  async function streaming(stallMs: number) {
    const { tasker } = await startEngine(SHOP, shopHandlers().handlers, { concurrency: 64 });
    const { app, url } = await serve(tasker, {
      port: 0,
      processMetrics: false,
      streamTiming: { stallMs, heartbeatMs: 200 },
    });
    apps.push(app);
    // Batches small enough that the hub names every task (frames, not a resync for too many changes):
    // tens of MB for a socket, and every task completes while a reader is stalled: the engine never
    // waits for a socket. Returns the last task's id.
    const runBigTasks = async () => {
      let last = '';
      for (let i = 0; i < 15; i++) {
        const made = await tasker.createTasks(bigTasks(200));
        for (const m of made) await tasker.waitForTask(m.task.id, { timeoutMs: 30_000 });
        last = made[made.length - 1]?.task.id ?? last;
      }
      return last;
    };
    return { url, runBigTasks };
  }

  it(
    'a browser that stops reading is dropped after the stall time; the engine and other streams carry on',
    { timeout: 90_000 },
    async () => {
      const { url, runBigTasks } = await streaming(1500);
      const healthy = await openSse(`${url}/stream`);
      await healthy.next((f) => f.event === 'hello');
      const stalled = await rawStream(url);
      await until(
        async () => stalled.text(),
        (t) => t.includes('event: hello'),
      );
      stalled.socket.pause();
      const last = await runBigTasks();
      // The healthy reader keeps up: it sees the last task's completion (or is told to resync).
      await healthy.next(
        (f) =>
          f.event === 'resync' ||
          (f.event === 'tasks' && f.data.tasks.some((t: any) => t.id === last && t.status === 'completed')),
        15_000,
      );
      // The stalled one was cut off once it had taken nothing for the stall time: when it reads again, it
      // finds what was buffered, then the end of the connection (a stream still served would stay open).
      await sleep(3000);
      stalled.socket.on('error', () => {});
      stalled.socket.resume();
      const closedAt = await Promise.race([stalled.closed, sleep(10_000).then(() => null)]);
      expect(closedAt, 'the stalled stream was never dropped').not.toBeNull();
      expect(stalled.text()).not.toContain(last);
      healthy.close();
    },
  );

  it(
    'a browser that falls behind and catches up gets one resync for what it missed',
    { timeout: 90_000 },
    async () => {
      const { url, runBigTasks } = await streaming(60_000);
      const slow = await rawStream(url);
      await until(
        async () => slow.text(),
        (t) => t.includes('event: hello'),
      );
      slow.socket.pause();
      const last = await runBigTasks();
      slow.socket.resume();
      const text = await until(
        async () => slow.text(),
        (t) => t.includes('event: resync'),
        15_000,
      );
      expect(text).toContain('event: resync\ndata: {"reason":"overflow"}');
      // Frames past the point it fell behind were dropped, not queued without bound.
      expect(text).not.toContain(`"id":"${last}"`);
      slow.socket.destroy();
    },
  );
});
