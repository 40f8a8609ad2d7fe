/**
 * Pushgateway pusher: pushes land in a real Pushgateway with the grouping key as labels; failures are
 * retried, then logged and counted, never thrown; the timer neither overlaps pushes nor outlives stop().
 * The real-gateway tests need `prometheus-pushgateway` (Debian package); they are skipped without it unless
 * TASKER_REQUIRE_PUSHGATEWAY=1 (CI), which makes its absence a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEngine } from './support/harness.js';
import { startMetricsPush, type MetricsPusher, type PushOptions } from '../src/telemetry/push.js';
import { capturingLogger } from './support/logs.js';

const BIN = process.env.TASKER_PUSHGATEWAY_BIN ?? '/usr/bin/prometheus-pushgateway';
const HAVE_BIN = existsSync(BIN);
const REQUIRED = process.env.TASKER_REQUIRE_PUSHGATEWAY === '1';

// A rejection escaping the pusher would surface here rather than only as a vitest error.
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);

const pushers: MetricsPusher[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(pushers.splice(0).map((p) => p.stop()));
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
  expect(unhandled).toEqual([]);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

function registryWithTasks(completed: number) {
  const registry = new Registry();
  const tasks = new Counter({
    name: 'tasker_tasks_total',
    help: 'Tasks that reached a terminal state',
    labelNames: ['namespace', 'name', 'version', 'status'],
    registers: [registry],
  });
  const labels = { namespace: 'shop', name: 'order', version: '1.0.0', status: 'completed' };
  for (let i = 0; i < completed; i++) tasks.inc(labels);
  return { registry, inc: () => tasks.inc(labels) };
}

const BASE: Omit<PushOptions, 'endpoint'> = {
  job: 'tasker',
  intervalMs: 60_000,
  exportTimeoutMs: 2_000,
  jobTimeoutMs: 5_000,
  retryAttempts: 0,
};

function start(
  registry: Registry,
  o: Partial<PushOptions> & { endpoint: string },
  logger = capturingLogger().logger,
  onFailure?: () => void,
): MetricsPusher {
  const pusher = startMetricsPush(registry, { ...BASE, ...o }, logger, onFailure);
  pushers.push(pusher);
  return pusher;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

interface Seen {
  authorization?: string | undefined;
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

/** A Pushgateway stand-in: records every request; `respond` decides the answer to the n-th (0-based). */
async function fakeGateway(respond: (n: number, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  let active = 0;
  let maxActive = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const n = seen.length;
    const chunks: Buffer[] = [];
    const entry: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
      body: '',
    };
    seen.push(entry);
    active++;
    maxActive = Math.max(maxActive, active);
    res.on('close', () => active--);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      entry.body = Buffer.concat(chunks).toString('utf8');
      respond(n, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    get maxActive() {
      return maxActive;
    },
  };
}

const status = (code: number) => (_n: number, res: ServerResponse) =>
  res.writeHead(code).end(`status ${code}`);

/** The tasks counter's value in a pushed or scraped exposition body. */
function completedValue(body: string): number | undefined {
  const m = /^tasker_tasks_total\{[^}]*status="completed"[^}]*\} (\S+)$/m.exec(body);
  return m ? Number(m[1]) : undefined;
}

describe('against the real Pushgateway', () => {
  let gateway: { child: ChildProcess; endpoint: string; stderr: () => string } | undefined;

  beforeAll(async () => {
    if (!HAVE_BIN) return;
    const port = await freePort();
    let stderr = '';
    // Empty --persistence.file: the Debian default is /var/lib/prometheus/pushgateway.data, which would
    // load and overwrite the host's state.
    const child = spawn(BIN, [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file='], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-4000);
    });
    const endpoint = `http://127.0.0.1:${port}`;
    gateway = { child, endpoint, stderr: () => stderr };
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${BIN} exited (${child.exitCode ?? child.signalCode}) before ready:\n${stderr}`);
      const ready = await fetch(`${endpoint}/-/ready`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`${BIN} not ready after 15 s:\n${stderr}`);
      await sleep(50);
    }
  });

  afterAll(async () => {
    const child = gateway?.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  });

  function requireGateway() {
    if (!gateway)
      throw new Error(
        `TASKER_REQUIRE_PUSHGATEWAY=1 but ${BIN} does not exist ` +
          '(apt-get install prometheus-pushgateway, or set TASKER_PUSHGATEWAY_BIN)',
      );
    return gateway;
  }

  async function scrape(endpoint: string): Promise<string[]> {
    const res = await fetch(`${endpoint}/metrics`);
    expect(res.status).toBe(200);
    return (await res.text()).split('\n');
  }

  it.skipIf(!HAVE_BIN && !REQUIRED)('a push shows up with job and instance labels', async () => {
    const { endpoint } = requireGateway();
    const { registry } = registryWithTasks(7);
    const pusher = start(registry, { endpoint, instance: 'worker-1' });
    expect(await pusher.pushNow()).toBe(true);
    expect(pusher.pushes).toBe(1);
    expect(pusher.failures).toBe(0);
    expect(await scrape(endpoint)).toContain(
      'tasker_tasks_total{instance="worker-1",job="tasker",name="order",namespace="shop",status="completed",version="1.0.0"} 7',
    );
  });

  it.skipIf(!HAVE_BIN && !REQUIRED)('grouping-key values with "/" or spaces round-trip', async () => {
    const { endpoint } = requireGateway();
    const { registry } = registryWithTasks(2);
    expect(await start(registry, { endpoint, instance: 'host-a/pid 42' }).pushNow()).toBe(true);
    expect(await start(registry, { endpoint, job: 'tasker/batch', instance: 'host b' }).pushNow()).toBe(true);
    const lines = await scrape(endpoint);
    expect(lines).toContain(
      'tasker_tasks_total{instance="host-a/pid 42",job="tasker",name="order",namespace="shop",status="completed",version="1.0.0"} 2',
    );
    expect(lines).toContain(
      'tasker_tasks_total{instance="host b",job="tasker/batch",name="order",namespace="shop",status="completed",version="1.0.0"} 2',
    );
  });

  it.skipIf(!HAVE_BIN && !REQUIRED)('a later push replaces the group with the newer value', async () => {
    const { endpoint } = requireGateway();
    const { registry, inc } = registryWithTasks(1);
    const pusher = start(registry, { endpoint, instance: 'replaced' });
    expect(await pusher.pushNow()).toBe(true);
    inc();
    inc();
    await pusher.stop();
    expect(await scrape(endpoint)).toContain(
      'tasker_tasks_total{instance="replaced",job="tasker",name="order",namespace="shop",status="completed",version="1.0.0"} 3',
    );
  });
  it.skipIf(!HAVE_BIN && !REQUIRED)(
    'an engine configured with telemetry.prometheus pushes its task counts (final push at close)',
    async () => {
      const { endpoint } = requireGateway();
      const { tasker } = await startEngine(
        `
namespace: pushed
name: job
version: 1.0.0
steps:
  - { name: only, handler: only }
`,
        { only: () => 1 },
        {
          telemetry: {
            prometheus: {
              endpoint,
              pushInterval: 3600,
              metricPrefix: 'tasker',
              includeInstanceLabels: false,
            },
          },
        },
      );
      const made = await tasker.createTasks([1, 2, 3].map(() => ({ namespace: 'pushed', name: 'job' })));
      for (const m of made) await tasker.waitForTask(m.task.id, { timeoutMs: 10_000, pollMs: 20 });
      await tasker.close();
      expect(await scrape(endpoint)).toContain(
        'tasker_tasks_total{instance="",job="tasker",name="job",namespace="pushed",status="completed",version="1.0.0"} 3',
      );
    },
  );
});

describe('credentials in the endpoint', () => {
  it('go as Basic authorization, never in the URL or a log line', async () => {
    const gw = await fakeGateway(status(401));
    const { registry } = registryWithTasks(1);
    const { logger, lines } = capturingLogger();
    const withCreds = gw.endpoint.replace('http://', 'http://pusher:s3cr%40t@');
    const pusher = start(registry, { endpoint: withCreds, retryAttempts: 0 }, logger);
    expect(await pusher.pushNow()).toBe(false);
    expect(gw.seen).toHaveLength(1);
    expect(gw.seen[0]?.authorization).toBe(`Basic ${Buffer.from('pusher:s3cr@t').toString('base64')}`);
    expect(gw.seen[0]?.url).toBe('/metrics/job/tasker');
    expect(JSON.stringify(lines)).not.toContain('s3cr');
    expect(lines[0]).toMatchObject({ endpoint: `${gw.endpoint}/` });
  });
});

describe('failed pushes', () => {
  it('retries with backoff until the gateway accepts', async () => {
    const gw = await fakeGateway((n, res) => status(n < 2 ? 500 : 200)(n, res));
    const { registry } = registryWithTasks(4);
    const { logger, lines } = capturingLogger();
    const started = Date.now();
    const pusher = start(registry, { endpoint: gw.endpoint, instance: 'a/b', retryAttempts: 3 }, logger);
    expect(await pusher.pushNow()).toBe(true);
    // Backoff of 100 ms, then 200 ms, before the third try.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(gw.seen).toHaveLength(3);
    for (const req of gw.seen) {
      expect(req.method).toBe('PUT');
      expect(req.url).toBe(`/metrics/job/tasker/instance@base64/${Buffer.from('a/b').toString('base64url')}`);
      expect(req.contentType).toBe(registry.contentType);
      expect(completedValue(req.body)).toBe(4);
    }
    expect(pusher.pushes).toBe(1);
    expect(pusher.failures).toBe(0);
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
  });

  it('gives up after retryAttempts, logs, counts and calls onFailure without rejecting', async () => {
    const gw = await fakeGateway(status(500));
    const { registry } = registryWithTasks(1);
    const { logger, lines } = capturingLogger();
    let called = 0;
    const pusher = start(registry, { endpoint: gw.endpoint, retryAttempts: 2 }, logger, () => called++);
    expect(await pusher.pushNow()).toBe(false);
    expect(gw.seen).toHaveLength(3);
    expect(pusher.failures).toBe(1);
    expect(pusher.pushes).toBe(0);
    expect(called).toBe(1);
    const warns = lines.filter((l) => l.level === 40);
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ msg: 'metrics push failed', endpoint: gw.endpoint, attempts: 3 });
    expect(JSON.stringify(warns[0]?.err)).toContain('500');
  });

  it('a throwing onFailure does not make the push reject', async () => {
    const gw = await fakeGateway(status(503));
    const { registry } = registryWithTasks(1);
    const pusher = start(registry, { endpoint: gw.endpoint }, undefined, () => {
      throw new Error('metric broke');
    });
    expect(await pusher.pushNow()).toBe(false);
    expect(pusher.failures).toBe(1);
  });

  it('an unreachable endpoint resolves false', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const { registry } = registryWithTasks(1);
    const { logger, lines } = capturingLogger();
    const pusher = start(registry, { endpoint, retryAttempts: 1 }, logger);
    expect(await pusher.pushNow()).toBe(false);
    expect(pusher.failures).toBe(1);
    expect(lines.find((l) => l.msg === 'metrics push failed')).toMatchObject({ attempts: 2 });
  });

  it('a gateway that never answers is abandoned within jobTimeout', async () => {
    const gw = await fakeGateway(() => {});
    const { registry } = registryWithTasks(1);
    const { logger, lines } = capturingLogger();
    const pusher = start(
      registry,
      { endpoint: gw.endpoint, exportTimeoutMs: 150, jobTimeoutMs: 400, retryAttempts: 10 },
      logger,
    );
    const started = Date.now();
    expect(await pusher.pushNow()).toBe(false);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(400 + 1_000);
    // Each try was cut off by exportTimeout, not left to hang until jobTimeout.
    expect(gw.seen.length).toBeGreaterThanOrEqual(2);
    expect(lines.find((l) => l.msg === 'metrics push failed')?.err).toMatchObject({ name: 'TimeoutError' });
  });
});

describe('interval and stop', () => {
  it('pushes on the interval without keeping the process alive', async () => {
    const gw = await fakeGateway(status(200));
    const { registry } = registryWithTasks(1);
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    start(registry, { endpoint: gw.endpoint, intervalMs: 40 });
    expect(timers()).toBe(before);
    await sleep(300);
    expect(gw.seen.length).toBeGreaterThanOrEqual(2);
  });

  it('never overlaps pushes when the gateway is slower than the interval', async () => {
    const gw = await fakeGateway((_n, res) => setTimeout(() => res.writeHead(200).end(), 150));
    const { registry } = registryWithTasks(1);
    const pusher = start(registry, { endpoint: gw.endpoint, intervalMs: 20 });
    await Promise.all([sleep(500), pusher.pushNow(), pusher.pushNow()]);
    expect(gw.maxActive).toBe(1);
    expect(gw.seen.length).toBeGreaterThanOrEqual(2);
  });

  it('stop() waits for the push in flight, pushes the final values and stops the timer', async () => {
    const gw = await fakeGateway((_n, res) => setTimeout(() => res.writeHead(200).end(), 100));
    const { registry, inc } = registryWithTasks(1);
    const pusher = start(registry, { endpoint: gw.endpoint, intervalMs: 30 });
    while (gw.seen.length === 0) await sleep(5);
    // A push is in flight now; the final push must still see this increment.
    inc();
    inc();
    await pusher.stop();
    const count = gw.seen.length;
    expect(gw.maxActive).toBe(1);
    expect(completedValue(gw.seen[count - 1]?.body ?? '')).toBe(3);
    expect(pusher.pushes).toBe(count);
    await sleep(200);
    expect(gw.seen).toHaveLength(count);
    // stop() is idempotent: a second call pushes nothing more.
    await pusher.stop();
    expect(gw.seen).toHaveLength(count);
  });
});
