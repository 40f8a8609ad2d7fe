/**
 * `npm run bench:api`: the HTTP API under load while a worker runs. Prints figures (medians of --runs);
 * it is not a test. `npm run bench:api -- --help` for the flags.
 *
 * Per store, --seed history (the default): --tasks finished tasks of four templates in four namespaces
 * (bench/history.ts: imported from archive files, a tenth of them created in the last 40 minutes, the rest
 * over 30 days), then --pending checkout orders for the worker. --seed pending: --tasks checkout orders,
 * all pending (the bench as it was before the history). Then fork this file as the server (`tasker
 * serve`'s shape: the API at /tasker and a worker running the checkout handlers in one process, unless
 * --worker says otherwise), so tasks are being worked while autocannon, in this process, measures a
 * rotation of filtered lists and a rotation of task details: with --connections clients, then with one.
 * Then the analytics over the last hour (business impact, bottlenecks, failure groups: one request at a
 * time), the console's first paint (--console), and the list and detail again while another process
 * prunes by the default retention policy (--prune). The load generator and the server never share an
 * event loop. SQLite gets a fresh file in a temp dir; PostgreSQL a fresh random schema, dropped at the end.
 */
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { handlers as checkoutHandlers } from '../examples/checkout/handlers.js';
import { makeOrder, seededRandom } from '../examples/checkout/orders.js';
import { serve } from '../src/api/server.js';
import { packageInfo } from '../src/package-root.js';
import { createTasker, TASK_STATES, type TaskState } from '../src/index.js';
import { chromium } from 'playwright-core';
import { firstPaint } from './browser.js';
import { historyTemplates, seedHistory } from './history.js';
import { admin, withSchema } from './pg-admin.js';
import { fmt, median, percentile } from './stats.js';

const DEFAULT_PG = 'postgres://postgres@127.0.0.1:5432/test';
const GOAL_P99_MS = 50;
const GOAL_SINGLE_P99_MS = 10;
const GOAL_ANALYTICS_MS = 1000;
const DETAIL_IDS = 300;
const SEED_BATCH = 1000;

const HELP = `usage: npm run bench:api -- [options]        (or: node dist/bench/api.js [options])

  --db TARGET            sqlite (default: a fresh file in a temp dir), a postgres:// URL (a fresh random
                         schema, dropped at the end), or both (sqlite, then ${DEFAULT_PG})
  --seed KIND            history: finished tasks of four templates, imported (default); pending: checkout
                         orders, all pending, for the worker
  --tasks N              tasks seeded per store (default 100000)
  --recent N             history: of --tasks, created in the last 40 minutes (default a tenth)
  --pending N            history: checkout orders created pending on top, for the worker (default 20000)
  --connections N        autocannon connections (default 16)
  --single / --no-single also measure with one connection (default on)
  --analytics-runs N     requests to each analytics report over the last hour (default 5; 0: none)
  --prune / --no-prune   history: measure again while another process prunes (default on)
  --console              the console's first paint of the task list (Debian chromium)
  --chromium PATH        the browser (default /usr/bin/chromium)
  --duration S           seconds per measurement (default 10)
  --runs N               measurements of each endpoint; medians are reported (default 3)
  --warmup S             unmeasured load on both endpoints before the first run (default 3)
  --worker MODE          same: the worker runs in the API process, as \`tasker serve\` does (default);
                         separate: in a process of its own; none: no worker (API alone)
  --worker-concurrency N steps the worker runs at once (default 10, the engine's default)
  --keep                 leave the seeded store in place and print where it is (to query it afterwards)
  --json                 print one JSON document instead of the table
  -h, --help             this text
`;

type WorkerMode = 'same' | 'separate' | 'none';

interface Config {
  targets: string[];
  seed: 'history' | 'pending';
  tasks: number;
  recent: number;
  pending: number;
  single: boolean;
  analyticsRuns: number;
  prune: boolean;
  console: boolean;
  chromium: string;
  connections: number;
  duration: number;
  runs: number;
  warmup: number;
  worker: WorkerMode;
  workerConcurrency: number;
  keep: boolean;
  json: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// Child process: the API server and/or the worker.

interface ChildJob {
  database: string;
  api: boolean;
  worker: boolean;
  concurrency: number;
}

type StatusCounts = Partial<Record<TaskState, number>>;

type FromChild =
  | { kind: 'ready'; url: string | null }
  | { kind: 'progress'; committed: number; counts: StatusCounts | null; lastHour?: number; pruned?: number }
  | { kind: 'stopped'; committed: number };

function templatesDir(): string {
  return join(packageInfo().root, 'examples', 'checkout', 'templates');
}

async function child(jobJson: string): Promise<void> {
  const job = JSON.parse(jobJson) as ChildJob;
  // An orphan must not keep a port or a worker alive if the load generator dies.
  process.on('disconnect', () => process.exit(1));
  const tasker = await createTasker({
    database: job.database,
    templates: templatesDir(),
    handlers: job.worker ? checkoutHandlers : {},
    concurrency: job.concurrency,
    logger: false,
  });
  let app: Awaited<ReturnType<typeof serve>>['app'] | undefined;
  let url: string | null = null;
  if (job.api) ({ app, url } = await serve(tasker, { host: '127.0.0.1', port: 0 }));
  if (job.worker) tasker.start();
  // 'prune-start': prune by the default retention policy, in this process as a worker does, back to back
  // (a worker waits prune_interval between prunes) until 'prune-stop', which reports the tasks deleted.
  let stopPruning = new AbortController();
  let pruned = 0;
  let pruning = Promise.resolve();
  const send = (m: FromChild, cb: () => void = () => {}) => process.send?.(m, cb);
  process.on('message', (m) => {
    if (m === 'prune-start') {
      stopPruning = new AbortController();
      pruned = 0;
      pruning = (async () => {
        while (!stopPruning.signal.aborted) {
          const r = await tasker.prune({ signal: stopPruning.signal });
          pruned += r.tasks;
          if (r.tasks === 0) await new Promise((res) => setTimeout(res, 500));
        }
      })();
      send({ kind: 'progress', committed: tasker.workerStats()?.committed ?? 0, counts: null });
    }
    if (m === 'prune-stop') {
      void (async () => {
        stopPruning.abort();
        await pruning;
        send({ kind: 'progress', committed: tasker.workerStats()?.committed ?? 0, counts: null, pruned });
      })();
    }
    if (m === 'last-hour') {
      void (async () => {
        const lastHour = await tasker.countTasks({ createdAfter: Date.now() - 3_600_000 });
        send({ kind: 'progress', committed: tasker.workerStats()?.committed ?? 0, counts: null, lastHour });
      })();
    }
    if (m === 'progress' || m === 'counts') {
      void (async () => {
        const committed = tasker.workerStats()?.committed ?? 0;
        let counts: StatusCounts | null = null;
        if (m === 'counts') {
          counts = {};
          for (const s of TASK_STATES) counts[s] = await tasker.countTasks({ status: [s] });
        }
        send({ kind: 'progress', committed, counts });
      })();
    }
    if (m === 'stop') {
      void (async () => {
        stopPruning.abort();
        await pruning;
        await app?.close();
        await tasker.close();
        send({ kind: 'stopped', committed: tasker.workerStats()?.committed ?? 0 }, () => process.exit(0));
      })();
    }
  });
  send({ kind: 'ready', url });
}

// ---------------------------------------------------------------------------------------------------------
// Helpers.

function waitFor<K extends FromChild['kind']>(
  c: ChildProcess,
  kind: K,
  timeoutMs = 120_000,
): Promise<Extract<FromChild, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`child ${c.pid}: no '${kind}' message within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m: FromChild) => {
      if (m.kind !== kind) return;
      cleanup();
      resolve(m as Extract<FromChild, { kind: K }>);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`child ${c.pid} exited (code ${code}) before sending '${kind}'`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      c.off('message', onMessage);
      c.off('exit', onExit);
    };
    c.on('message', onMessage);
    c.on('exit', onExit);
  });
}

async function ask(c: ChildProcess, what: 'progress' | 'counts' | 'prune-start' | 'prune-stop') {
  const reply = waitFor(c, 'progress');
  c.send(what);
  return reply;
}

async function stopChild(c: ChildProcess): Promise<number> {
  if (c.exitCode !== null || c.signalCode !== null) return 0;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  const stopped = waitFor(c, 'stopped', 60_000).catch(() => null);
  c.send('stop');
  const m = await stopped;
  if (!m) c.kill('SIGKILL');
  await exited;
  return m?.committed ?? 0;
}

// ---------------------------------------------------------------------------------------------------------
// Measurement.

interface Target {
  label: string;
  path: string;
}

interface PerLabel {
  label: string;
  requests: number;
  p50: number;
  p99: number;
  non2xx: number;
}

interface Measurement {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  perLabel: PerLabel[];
  /** One body of a non-2xx response per label, for the error report. */
  failures: Array<{ label: string; path: string; status: number; body: string }>;
}

async function measure(
  origin: string,
  targets: Target[],
  connections: number,
  seconds: number,
): Promise<Measurement> {
  const all: number[] = [];
  const byLabel = new Map<string, { lat: number[]; non2xx: number }>();
  for (const t of targets) byLabel.set(t.label, { lat: [], non2xx: 0 });
  const failures: Measurement['failures'] = [];
  // Set by a request's onResponse, read by the instance's 'response' event: autocannon calls both,
  // synchronously and in that order, when a response completes.
  let last: Target | undefined;
  const requests = (offset: number): autocannon.Request[] =>
    targets.map((_, i) => {
      const t = targets[(i + offset) % targets.length] as Target;
      return {
        method: 'GET',
        path: t.path,
        onResponse: (status, body) => {
          last = t;
          if ((status < 200 || status > 299) && !failures.some((f) => f.label === t.label))
            failures.push({ label: t.label, path: t.path, status, body: body.slice(0, 500) });
        },
      };
    });
  let client = 0;
  const instance = autocannon({
    url: origin,
    connections,
    duration: seconds,
    requests: requests(0),
    // Each connection starts at a different point of the rotation, so they do not ask for the same
    // URL in lockstep.
    setupClient: (c) =>
      c.setRequests(requests(Math.floor((client++ * targets.length) / connections) % targets.length)),
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    all.push(ms);
    const slot = last ? byLabel.get(last.label) : undefined;
    if (!slot) return;
    slot.lat.push(ms);
    if (status < 200 || status > 299) slot.non2xx++;
    last = undefined;
  });
  const result = await instance;
  const sorted = Float64Array.from(all).sort();
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) statusCodes[code] = count;
  return {
    requests: all.length,
    seconds: result.duration,
    rps: all.length / result.duration,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length ? (sorted[sorted.length - 1] as number) : NaN,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    perLabel: [...byLabel].map(([label, s]) => {
      const l = Float64Array.from(s.lat).sort();
      return { label, requests: l.length, p50: percentile(l, 50), p99: percentile(l, 99), non2xx: s.non2xx };
    }),
    failures,
  };
}

// ---------------------------------------------------------------------------------------------------------
// One store.

type Endpoint = 'list' | 'detail';

interface EndpointReport {
  p50: number;
  p99: number;
  rps: number;
  non2xx: number;
  errors: number;
  runs: Measurement[];
  /** Steps the worker committed per second while this endpoint was measured (median of runs). */
  workerStepsPerSec: number;
  goalP99Ms: number;
  goalMet: boolean;
}

/** One set of runs of both endpoints: under load, with one client, while pruning. */
interface LoadSet {
  label: 'load' | 'single' | 'pruning';
  connections: number;
  list: EndpointReport;
  detail: EndpointReport;
}

interface AnalyticsReport {
  label: string;
  path: string;
  ms: number[];
  median: number;
  max: number;
  /** A figure from the reply that shows what it covered (failed workflows, tasks examined, groups). */
  covered: string;
  goalMet: boolean;
}

interface StoreReport {
  store: 'sqlite' | 'postgres';
  version: string;
  location: string;
  seed: Config['seed'];
  tasks: number;
  /** Tasks created in the last hour when the analytics were measured. */
  lastHour: number | null;
  seedSeconds: number;
  countsBefore: StatusCounts | null;
  countsAfter: StatusCounts | null;
  sets: LoadSet[];
  analytics: AnalyticsReport[];
  console: { list: number[]; failed: number[]; median: number; medianFailed: number } | null;
  pruned: { tasks: number; seconds: number } | null;
}

async function storeVersion(kind: 'sqlite' | 'postgres', url: string): Promise<string> {
  if (kind === 'sqlite') {
    const require = createRequire(import.meta.url);
    const pkg = require('better-sqlite3/package.json') as { version: string };
    const db = new Database(':memory:');
    const v = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    db.close();
    return `SQLite ${v} (better-sqlite3 ${pkg.version}, WAL, synchronous=full)`;
  }
  return admin(url, async (c) => {
    const r = await c.query<{ v: string; sc: string }>(
      "SELECT version() AS v, current_setting('synchronous_commit') AS sc",
    );
    const row = r.rows[0];
    return `${row?.v.split(' on ')[0] ?? '?'}, synchronous_commit=${row?.sc ?? '?'}`;
  });
}

function listTargets(): Target[] {
  const since = new Date(Date.now() - 10 * 60_000).toISOString();
  return [
    { label: 'failed', path: '/tasker/tasks?status=failed&namespace=ecommerce&limit=50' },
    {
      label: 'completed',
      path: '/tasker/tasks?namespace=ecommerce&name=process_order&status=completed&limit=50',
    },
    { label: 'recent', path: `/tasker/tasks?created_after=${encodeURIComponent(since)}&limit=100` },
  ];
}

async function benchStore(cfg: Config, target: string, out: (s: string) => void): Promise<StoreReport> {
  const kind = target === 'sqlite' ? 'sqlite' : 'postgres';
  let database: string;
  let cleanup: () => Promise<void>;
  let location: string;
  const dir = mkdtempSync(join(tmpdir(), 'tasker-bench-api-'));
  if (kind === 'sqlite') {
    database = `sqlite:${join(dir, 'tasker.db')}`;
    location = database;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const schema = `tasker_bench_api_${randomBytes(4).toString('hex')}`;
    database = withSchema(target, schema);
    location = `${new URL(target).host}${new URL(target).pathname}, schema ${schema}`;
    cleanup = async () => {
      rmSync(dir, { recursive: true, force: true });
      await admin(target, (c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
    };
  }
  const version = await storeVersion(kind, target);
  out(`\n${kind}: ${version}; ${location}`);
  const children: ChildProcess[] = [];
  try {
    // 1. Seed.
    const t0 = performance.now();
    const seed = await createTasker({
      database,
      templates: cfg.seed === 'history' ? historyTemplates() : templatesDir(),
      logger: false,
      migrate: true,
    });
    const ids: string[] = [];
    const historic: string[] = [];
    const random = seededRandom(42);
    const createPending = async (n: number) => {
      for (let i = 0; i < n; i += SEED_BATCH) {
        const batch = await seed.createTasks(
          Array.from({ length: Math.min(SEED_BATCH, n - i) }, (_, j) => ({
            namespace: 'ecommerce',
            name: 'process_order',
            context: makeOrder(i + j + 1, random) as unknown as Record<string, unknown>,
          })),
        );
        for (const r of batch) ids.push(r.task.id);
        if ((i / SEED_BATCH) % 20 === 19) out(`  created ${fmt(i + SEED_BATCH)} pending tasks`);
      }
    };
    try {
      if (cfg.seed === 'history') {
        const h = await seedHistory(
          seed,
          {
            total: cfg.tasks,
            recent: cfg.recent,
            now: Date.now(),
            dir: join(dir, 'history'),
            random,
            sample: historic,
          },
          out,
        );
        out(
          `  imported ${fmt(h.tasks)} finished tasks (${fmt(h.recent)} in the last 40 minutes) in ${fmt(h.seconds, 1)} s: ` +
            Object.entries(h.byStatus)
              .map(([k, v]) => `${fmt(v)} ${k}`)
              .join(', '),
        );
        await createPending(cfg.pending);
      } else {
        await createPending(cfg.tasks);
      }
    } finally {
      await seed.close();
    }
    if (kind === 'postgres') {
      // What autovacuum does on its own after a bulk load (PostgreSQL 13+ vacuums a table after inserts
      // too): statistics for the planner, and the visibility map that lets an index-only scan skip the
      // table. Done here because a server may run with autovacuum off (this machine's does).
      const schema = new URL(database).searchParams.get('schema') ?? '';
      await admin(target, async (c) => {
        for (const t of ['tasks', 'steps', 'step_attempts', 'transition_log', 'task_tags'])
          await c.query(`VACUUM (ANALYZE) "${schema}".${t}`);
      });
    }
    const seedSeconds = (performance.now() - t0) / 1000;
    out(`  seeded in ${fmt(seedSeconds, 1)} s`);

    // 2. The server (and the worker) in child processes.
    const self = fileURLToPath(import.meta.url);
    const spawn = (job: ChildJob) => {
      const c = fork(self, ['--api-child', JSON.stringify(job)], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        // TASKER_BENCH_CHILD_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles the server process.
        execArgv: (process.env.TASKER_BENCH_CHILD_ARGS ?? '').split(' ').filter(Boolean),
      });
      children.push(c);
      return c;
    };
    const base = { database, concurrency: cfg.workerConcurrency };
    const server = spawn({ ...base, api: true, worker: cfg.worker === 'same' });
    const worker = cfg.worker === 'separate' ? spawn({ ...base, api: false, worker: true }) : undefined;
    const ready = await waitFor(server, 'ready');
    if (worker) await waitFor(worker, 'ready');
    const workerProc = cfg.worker === 'same' ? server : worker;
    if (!ready.url) throw new Error('the server child sent no URL');
    const origin = new URL(ready.url).origin;
    out(
      `  server ${origin} (pid ${server.pid}); worker: ${cfg.worker === 'none' ? 'none' : `${cfg.worker === 'same' ? 'in the server process' : `pid ${worker?.pid}`}, concurrency ${cfg.workerConcurrency}`}`,
    );

    // Task details: a random sample of the seeded ids; with a history, half finished tasks (what an
    // investigation reads) and half pending ones (whose "why it waits" counts the ready backlog).
    const shuffled = (list: string[]) => {
      const pool = [...list];
      for (let i = pool.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [pool[i], pool[j]] = [pool[j] as string, pool[i] as string];
      }
      return pool;
    };
    const half = historic.length > 0 ? Math.min(historic.length, DETAIL_IDS / 2) : 0;
    const detailTargets: Target[] = [
      ...shuffled(historic).slice(0, half),
      ...shuffled(ids).slice(0, DETAIL_IDS - half),
    ].map((id) => ({ label: 'detail', path: `/tasker/tasks/${id}?include_dependencies=true` }));

    // 3. Warm up (JIT, caches; lets the worker finish some tasks so failed/completed lists have rows).
    if (cfg.warmup > 0) {
      const w = Math.max(1, Math.round(cfg.warmup / 2));
      await measure(origin, listTargets(), cfg.connections, w);
      await measure(origin, detailTargets, cfg.connections, w);
    }
    const countsBefore = (await ask(server, 'counts')).counts;
    if (countsBefore) out(`  tasks before the runs: ${describeCounts(countsBefore)}`);

    const loadSet = async (label: LoadSet['label'], connections: number): Promise<LoadSet> => {
      const runs: Record<Endpoint, Measurement[]> = { list: [], detail: [] };
      const steps: Record<Endpoint, number[]> = { list: [], detail: [] };
      for (let r = 0; r < cfg.runs; r++) {
        for (const ep of ['list', 'detail'] as const) {
          const before = workerProc ? (await ask(workerProc, 'progress')).committed : 0;
          const t = performance.now();
          const m = await measure(
            origin,
            ep === 'list' ? listTargets() : detailTargets,
            connections,
            cfg.duration,
          );
          const after = workerProc ? (await ask(workerProc, 'progress')).committed : 0;
          const stepsPerSec = (after - before) / ((performance.now() - t) / 1000);
          runs[ep].push(m);
          steps[ep].push(stepsPerSec);
          out(
            `  ${label.padEnd(7)} ${ep.padEnd(6)} run ${r + 1} (${connections} client${connections === 1 ? '' : 's'}): p50 ${fmt(m.p50, 2)} ms, p99 ${fmt(m.p99, 2)} ms, max ${fmt(m.max, 1)} ms, ${fmt(m.rps)} req/s, non-2xx ${m.non2xx}, errors ${m.errors}; worker ${fmt(stepsPerSec)} steps/s` +
              (ep === 'list'
                ? `\n           ${m.perLabel.map((l) => `${l.label} p50 ${fmt(l.p50, 2)} / p99 ${fmt(l.p99, 2)} ms`).join('; ')}`
                : ''),
          );
          if (m.non2xx > 0 || m.errors > 0) {
            out(
              `  !!!!! ${kind} ${label} ${ep} run ${r + 1}: ${m.non2xx} NON-2XX RESPONSES, ${m.errors} errors (${m.timeouts} timeouts); status codes ${JSON.stringify(m.statusCodes)}`,
            );
            for (const f of m.failures) out(`  !!!!! ${f.status} ${f.path}\n        ${f.body}`);
          }
        }
      }
      const goal = connections === 1 ? GOAL_SINGLE_P99_MS : GOAL_P99_MS;
      const summarize = (ep: Endpoint): EndpointReport => {
        const ms = runs[ep];
        const p99 = median(ms.map((m) => m.p99));
        return {
          p50: median(ms.map((m) => m.p50)),
          p99,
          rps: median(ms.map((m) => m.rps)),
          non2xx: ms.reduce((n, m) => n + m.non2xx, 0),
          errors: ms.reduce((n, m) => n + m.errors, 0),
          runs: ms,
          workerStepsPerSec: median(steps[ep]),
          goalP99Ms: goal,
          goalMet: p99 <= goal && ms.every((m) => m.non2xx === 0 && m.errors === 0),
        };
      };
      return { label, connections, list: summarize('list'), detail: summarize('detail') };
    };

    // 4. The runs: under load, then one client.
    const sets: LoadSet[] = [await loadSet('load', cfg.connections)];
    if (cfg.single) sets.push(await loadSet('single', 1));

    // 5. The analytics over the last hour, one request at a time.
    const lastHour = cfg.analyticsRuns > 0 ? await countLastHour(server) : null;
    if (lastHour !== null) out(`  tasks created in the last hour: ${fmt(lastHour)}`);
    const analytics: AnalyticsReport[] = [];
    for (const [label, path, covered] of ANALYTICS) {
      if (cfg.analyticsRuns === 0) break;
      const ms: number[] = [];
      let body: unknown = null;
      for (let r = 0; r < cfg.analyticsRuns; r++) {
        const t = performance.now();
        body = await json(origin, path);
        ms.push(performance.now() - t);
      }
      const rep: AnalyticsReport = {
        label,
        path,
        ms,
        median: median(ms),
        max: Math.max(...ms),
        covered: covered(body),
        goalMet: Math.max(...ms) <= GOAL_ANALYTICS_MS,
      };
      analytics.push(rep);
      out(
        `  ${label.padEnd(16)} ${ms.map((m) => fmt(m)).join(', ')} ms (median ${fmt(rep.median)}, max ${fmt(rep.max)}): ${rep.covered}`,
      );
    }

    // 6. The console's first paint of the task list.
    let consoleReport: StoreReport['console'] = null;
    if (cfg.console) {
      const browser = await chromium.launch({ executablePath: cfg.chromium, args: ['--no-sandbox'] });
      try {
        const list: number[] = [];
        const failed: number[] = [];
        await firstPaint(browser, `${origin}/tasker/ui/tasks`, '[data-task-id]');
        for (let r = 0; r < Math.max(3, cfg.runs); r++) {
          list.push((await firstPaint(browser, `${origin}/tasker/ui/tasks`, '[data-task-id]')).ms);
          failed.push(
            (
              await firstPaint(
                browser,
                `${origin}/tasker/ui/tasks?status=failed&namespace=ecommerce`,
                '[data-task-id]',
              )
            ).ms,
          );
        }
        consoleReport = { list, failed, median: median(list), medianFailed: median(failed) };
        out(
          `  console first paint: task list ${list.map((m) => fmt(m)).join(', ')} ms; failed orders ${failed.map((m) => fmt(m)).join(', ')} ms`,
        );
      } finally {
        await browser.close();
      }
    }

    // 7. Again while the worker's process prunes by the default retention policy.
    let pruned: StoreReport['pruned'] = null;
    if (cfg.prune && cfg.seed === 'history') {
      const where = workerProc ?? server;
      await ask(where, 'prune-start');
      const t = performance.now();
      sets.push(await loadSet('pruning', cfg.connections));
      const done = await ask(where, 'prune-stop');
      pruned = { tasks: done.pruned ?? 0, seconds: (performance.now() - t) / 1000 };
      out(`  pruned ${fmt(pruned.tasks)} tasks in ${fmt(pruned.seconds, 1)} s while measured`);
    }

    const countsAfter = (await ask(server, 'counts')).counts;
    if (countsAfter) out(`  tasks after the runs: ${describeCounts(countsAfter)}`);
    return {
      store: kind,
      version,
      location,
      seed: cfg.seed,
      tasks: cfg.tasks + (cfg.seed === 'history' ? cfg.pending : 0),
      lastHour,
      seedSeconds,
      countsBefore,
      countsAfter,
      sets,
      analytics,
      console: consoleReport,
      pruned,
    };
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
    if (cfg.keep) out(`  kept: ${database}`);
    else await cleanup();
  }
}

/** The reports over the last hour, and what each reply says it covered. */
const ANALYTICS: Array<[string, string, (body: unknown) => string]> = [
  [
    'business-impact',
    '/tasker/analytics/business-impact?time_range=1h',
    (b) => {
      const i = (
        b as { impact_analysis?: { total_failed_workflows?: number; estimated_revenue_loss?: number } }
      ).impact_analysis;
      return `${fmt(i?.total_failed_workflows ?? 0)} failed workflows, ${fmt(i?.estimated_revenue_loss ?? 0)} lost`;
    },
  ],
  [
    'bottlenecks',
    '/tasker/analytics/bottlenecks?time_range=1h',
    (b) => {
      const x = b as { steps?: Array<{ attempts: number }>; sample?: { tasks_examined?: number } };
      const attempts = (x.steps ?? []).reduce((n, s) => n + s.attempts, 0);
      return `${fmt(x.sample?.tasks_examined ?? 0)} tasks, ${fmt(attempts)} attempts, ${x.steps?.length ?? 0} steps`;
    },
  ],
  [
    'failure-groups',
    '/tasker/analytics/failure-groups?time_range=1h',
    (b) => {
      const x = b as { groups?: unknown[]; total_tasks?: number };
      return `${x.groups?.length ?? 0} groups, ${fmt(x.total_tasks ?? 0)} tasks`;
    },
  ],
];

async function json<T = unknown>(origin: string, path: string): Promise<T> {
  const res = await fetch(`${origin}${path}`);
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

async function countLastHour(server: ChildProcess): Promise<number> {
  const reply = waitFor(server, 'progress');
  server.send('last-hour');
  return (await reply).lastHour ?? 0;
}

function describeCounts(c: StatusCounts): string {
  return TASK_STATES.filter((s) => (c[s] ?? 0) > 0)
    .map((s) => `${fmt(c[s] ?? 0)} ${s}`)
    .join(', ');
}

// ---------------------------------------------------------------------------------------------------------
// Entry.

function parse(argv: string[]): Config | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      db: { type: 'string' },
      seed: { type: 'string' },
      tasks: { type: 'string' },
      recent: { type: 'string' },
      pending: { type: 'string' },
      single: { type: 'boolean', default: true },
      'no-single': { type: 'boolean', default: false },
      'analytics-runs': { type: 'string' },
      prune: { type: 'boolean', default: true },
      'no-prune': { type: 'boolean', default: false },
      console: { type: 'boolean', default: false },
      chromium: { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      worker: { type: 'string' },
      'worker-concurrency': { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return null;
  const int = (v: string | undefined, d: number, name: string, min = 1) => {
    const n = v === undefined ? d : Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name}: expected an integer ≥ ${min}, got ${v}`);
    return n;
  };
  const db = values.db ?? 'sqlite';
  const isPg = (s: string) => s.startsWith('postgres://') || s.startsWith('postgresql://');
  const targets = db === 'both' ? ['sqlite', DEFAULT_PG] : db === 'sqlite' || isPg(db) ? [db] : null;
  if (!targets)
    throw new Error(`--db: expected sqlite, a postgres:// URL or both, got ${JSON.stringify(db)}`);
  const worker = values.worker ?? 'same';
  if (worker !== 'same' && worker !== 'separate' && worker !== 'none')
    throw new Error(`--worker: expected same, separate or none, got ${JSON.stringify(worker)}`);
  const seed = values.seed ?? 'history';
  if (seed !== 'history' && seed !== 'pending')
    throw new Error(`--seed: expected history or pending, got ${JSON.stringify(seed)}`);
  const tasks = int(values.tasks, 100_000, '--tasks');
  const recent = int(values.recent, Math.max(1, Math.round(tasks / 10)), '--recent');
  if (recent > tasks) throw new Error(`--recent: expected at most --tasks (${tasks}), got ${recent}`);
  return {
    targets,
    seed,
    tasks,
    recent,
    pending: int(values.pending, 20_000, '--pending', 0),
    single: values.single && !values['no-single'],
    analyticsRuns: int(values['analytics-runs'], 5, '--analytics-runs', 0),
    prune: values.prune && !values['no-prune'],
    console: values.console,
    chromium: values.chromium ?? '/usr/bin/chromium',
    connections: int(values.connections, 16, '--connections'),
    duration: int(values.duration, 10, '--duration'),
    runs: int(values.runs, 3, '--runs'),
    warmup: int(values.warmup, 3, '--warmup', 0),
    worker,
    workerConcurrency: int(values['worker-concurrency'], 10, '--worker-concurrency'),
    keep: values.keep,
    json: values.json,
  };
}

async function main(argv: string[]): Promise<void> {
  const cfg = parse(argv);
  if (!cfg) {
    process.stdout.write(HELP);
    return;
  }
  const out = (s: string) => process.stderr.write(`${s}\n`);
  const machine = `${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; node ${process.version}`;
  out('tasker-engine HTTP API benchmark');
  out(`machine   ${machine}`);
  out(
    `load      autocannon, ${cfg.connections} connections${cfg.single ? ' then 1' : ''}, ${cfg.duration} s per measurement, ${cfg.runs} run(s), ${cfg.warmup} s warm-up; seed ${describeSeed(cfg)}`,
  );
  const reports: StoreReport[] = [];
  for (const t of cfg.targets) reports.push(await benchStore(cfg, t, out));

  const bad = reports.flatMap((r) =>
    r.sets.flatMap((set) =>
      (['list', 'detail'] as const)
        .filter((ep) => set[ep].non2xx > 0 || set[ep].errors > 0)
        .map((ep) => `${r.store} ${set.label} ${ep}: ${set[ep].non2xx} non-2xx, ${set[ep].errors} errors`),
    ),
  );
  if (bad.length > 0) process.exitCode = 1;

  if (cfg.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          machine: cpus()[0]?.model,
          cores: cpus().length,
          memoryGiB: totalmem() / 2 ** 30,
          node: process.version,
          config: cfg,
          goals: { p99Ms: GOAL_P99_MS, singleP99Ms: GOAL_SINGLE_P99_MS, analyticsMs: GOAL_ANALYTICS_MS },
          stores: reports,
        },
        null,
        2,
      )}\n`,
    );
    return;
  }
  const met = (ok: boolean) => (ok ? 'met' : 'NOT MET');
  const lines = [
    '',
    `machine: ${machine}`,
    ...reports.map((r) => `${r.store}: ${r.version}`),
    `seed: ${describeSeed(cfg)}; worker ${cfg.worker}${cfg.worker === 'none' ? '' : `, concurrency ${cfg.workerConcurrency}`}`,
    `load: ${cfg.duration} s per run, medians of ${cfg.runs} run(s)`,
    'list: status=failed&namespace=ecommerce&limit=50, namespace=ecommerce&name=process_order&status=completed&limit=50, created_after=<10 min ago>&limit=100 in rotation',
    `detail: /tasks/<id>?include_dependencies=true over ${DETAIL_IDS} sampled ids${cfg.seed === 'history' ? ' (half finished tasks of the history, half pending ones)' : ''}`,
    '',
    '| store | tasks stored | set | clients | endpoint | p50 ms | p99 ms | req/s | non-2xx | worker steps/s | goal |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...reports.flatMap((r) =>
      r.sets.flatMap((set) =>
        (['list', 'detail'] as const).map((ep) => {
          const e = set[ep];
          return `| ${r.store} | ${fmt(r.tasks)} | ${set.label} | ${set.connections} | ${ep} | ${fmt(e.p50, 2)} | ${fmt(e.p99, 2)} | ${fmt(e.rps)} | ${e.non2xx + e.errors} | ${cfg.worker === 'none' ? 'n/a' : fmt(e.workerStepsPerSec)} | p99 ≤ ${e.goalP99Ms} ms: ${met(e.goalMet)} |`;
        }),
      ),
    ),
    ...(reports.some((r) => r.analytics.length > 0)
      ? [
          '',
          `Analytics over the last hour, one request at a time (goal: each ≤ ${fmt(GOAL_ANALYTICS_MS)} ms):`,
          '',
          '| store | tasks in the hour | report | median ms | max ms | covered | goal |',
          '| --- | --- | --- | --- | --- | --- | --- |',
          ...reports.flatMap((r) =>
            r.analytics.map(
              (a) =>
                `| ${r.store} | ${fmt(r.lastHour ?? 0)} | ${a.label} | ${fmt(a.median)} | ${fmt(a.max)} | ${a.covered} | ${met(a.goalMet)} |`,
            ),
          ),
        ]
      : []),
    ...reports.flatMap((r) =>
      r.console
        ? [
            '',
            `${r.store}: console first paint (navigation → first row): task list median ${fmt(r.console.median)} ms, failed orders median ${fmt(r.console.medianFailed)} ms (goal < 1,000 ms: ${met(Math.max(r.console.median, r.console.medianFailed) < 1000)})`,
          ]
        : [],
    ),
    ...reports.flatMap((r) =>
      r.pruned
        ? [
            `${r.store}: the pruner deleted ${fmt(r.pruned.tasks)} tasks in ${fmt(r.pruned.seconds, 1)} s (${fmt(r.pruned.tasks / r.pruned.seconds)}/s) during the "pruning" runs`,
          ]
        : [],
    ),
    ...(bad.length > 0 ? ['', `!!!!! FAILED REQUESTS: ${bad.join('; ')}`] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function describeSeed(cfg: Config): string {
  return cfg.seed === 'history'
    ? `history: ${fmt(cfg.tasks)} finished tasks (${fmt(cfg.recent)} in the last 40 minutes) + ${fmt(cfg.pending)} pending checkout orders per store`
    : `pending: ${fmt(cfg.tasks)} checkout orders per store`;
}

const argv = process.argv.slice(2);
if (argv[0] === '--api-child') {
  await child(argv[1] ?? '{}');
} else {
  await main(argv);
}
