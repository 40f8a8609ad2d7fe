/**
 * `npm run bench:api`: the HTTP API under load while a worker runs. Prints figures (medians of --runs);
 * it is not a test. `npm run bench:api -- --help` for the flags.
 *
 * Per store: seed --tasks checkout orders (ecommerce/process_order, contexts from makeOrder) with
 * createTasks in batches of 1000, all pending; fork this file as the server (`tasker serve`'s shape: the
 * API at /tasker and a worker running the checkout handlers in one process, unless --worker says
 * otherwise), so the tasks are being worked while autocannon, in this process, measures a rotation of
 * filtered lists and a rotation of task details. The load generator and the server never share an event
 * loop. SQLite gets a fresh file in a temp dir; PostgreSQL a fresh random schema, dropped at the end.
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
import { admin, withSchema } from './pg-admin.js';
import { fmt, median, percentile } from './stats.js';

const DEFAULT_PG = 'postgres://postgres@127.0.0.1:5432/test';
const GOAL_P99_MS = 50;
const DETAIL_IDS = 300;
const SEED_BATCH = 1000;

const HELP = `usage: npm run bench:api -- [options]        (or: node dist/bench/api.js [options])

  --db TARGET            sqlite (default: a fresh file in a temp dir), a postgres:// URL (a fresh random
                         schema, dropped at the end), or both (sqlite, then ${DEFAULT_PG})
  --tasks N              checkout tasks seeded per store, all pending (default 100000)
  --connections N        autocannon connections (default 50)
  --duration S           seconds per measurement (default 10)
  --runs N               measurements of each endpoint; medians are reported (default 3)
  --warmup S             unmeasured load on both endpoints before the first run (default 3)
  --worker MODE          same: the worker runs in the API process, as \`tasker serve\` does (default);
                         separate: in a process of its own; none: no worker (API alone)
  --worker-concurrency N steps the worker runs at once (default 10, the engine's default)
  --json                 print one JSON document instead of the table
  -h, --help             this text
`;

type WorkerMode = 'same' | 'separate' | 'none';

interface Config {
  targets: string[];
  tasks: number;
  connections: number;
  duration: number;
  runs: number;
  warmup: number;
  worker: WorkerMode;
  workerConcurrency: number;
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
  | { kind: 'progress'; committed: number; counts: StatusCounts | null }
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
  const send = (m: FromChild, cb: () => void = () => {}) => process.send?.(m, cb);
  process.on('message', (m) => {
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

async function ask(c: ChildProcess, what: 'progress' | 'counts') {
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
  goalMet: boolean;
}

interface StoreReport {
  store: 'sqlite' | 'postgres';
  version: string;
  location: string;
  tasks: number;
  seedSeconds: number;
  countsBefore: StatusCounts | null;
  countsAfter: StatusCounts | null;
  list: EndpointReport;
  detail: EndpointReport;
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
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'tasker-bench-api-'));
    database = `sqlite:${join(dir, 'tasker.db')}`;
    location = database;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const schema = `tasker_bench_api_${randomBytes(4).toString('hex')}`;
    database = withSchema(target, schema);
    location = `${new URL(target).host}${new URL(target).pathname}, schema ${schema}`;
    cleanup = async () => {
      await admin(target, (c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
    };
  }
  const version = await storeVersion(kind, target);
  out(`\n${kind}: ${version}; ${location}`);
  const children: ChildProcess[] = [];
  try {
    // 1. Seed, all pending.
    const t0 = performance.now();
    const seed = await createTasker({ database, templates: templatesDir(), logger: false, migrate: true });
    const ids: string[] = [];
    const random = seededRandom(42);
    try {
      for (let i = 0; i < cfg.tasks; i += SEED_BATCH) {
        const batch = await seed.createTasks(
          Array.from({ length: Math.min(SEED_BATCH, cfg.tasks - i) }, (_, j) => ({
            namespace: 'ecommerce',
            name: 'process_order',
            context: makeOrder(i + j + 1, random) as unknown as Record<string, unknown>,
          })),
        );
        for (const r of batch) ids.push(r.task.id);
        if ((i / SEED_BATCH) % 20 === 19) out(`  seeded ${fmt(ids.length)} tasks`);
      }
    } finally {
      await seed.close();
    }
    const seedSeconds = (performance.now() - t0) / 1000;
    out(`  seeded ${fmt(ids.length)} pending tasks in ${fmt(seedSeconds, 1)} s`);

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

    // Task details: a random sample of the seeded ids.
    const pool = [...ids];
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [pool[i], pool[j]] = [pool[j] as string, pool[i] as string];
    }
    const detailTargets: Target[] = pool
      .slice(0, DETAIL_IDS)
      .map((id) => ({ label: 'detail', path: `/tasker/tasks/${id}?include_dependencies=true` }));

    // 3. Warm up (JIT, caches; lets the worker finish some tasks so failed/completed lists have rows).
    if (cfg.warmup > 0) {
      const w = Math.max(1, Math.round(cfg.warmup / 2));
      await measure(origin, listTargets(), cfg.connections, w);
      await measure(origin, detailTargets, cfg.connections, w);
    }
    const countsBefore = (await ask(server, 'counts')).counts;
    if (countsBefore) out(`  tasks before the runs: ${describeCounts(countsBefore)}`);

    // 4. The runs, alternating endpoints.
    const runs: Record<Endpoint, Measurement[]> = { list: [], detail: [] };
    const steps: Record<Endpoint, number[]> = { list: [], detail: [] };
    for (let r = 0; r < cfg.runs; r++) {
      for (const ep of ['list', 'detail'] as const) {
        const before = workerProc ? (await ask(workerProc, 'progress')).committed : 0;
        const t = performance.now();
        const m = await measure(
          origin,
          ep === 'list' ? listTargets() : detailTargets,
          cfg.connections,
          cfg.duration,
        );
        const after = workerProc ? (await ask(workerProc, 'progress')).committed : 0;
        const stepsPerSec = (after - before) / ((performance.now() - t) / 1000);
        runs[ep].push(m);
        steps[ep].push(stepsPerSec);
        out(
          `  ${ep.padEnd(6)} run ${r + 1}: p50 ${fmt(m.p50, 2)} ms, p99 ${fmt(m.p99, 2)} ms, max ${fmt(m.max, 1)} ms, ${fmt(m.rps)} req/s, non-2xx ${m.non2xx}, errors ${m.errors}; worker ${fmt(stepsPerSec)} steps/s` +
            (ep === 'list'
              ? `\n           ${m.perLabel.map((l) => `${l.label} p50 ${fmt(l.p50, 2)} / p99 ${fmt(l.p99, 2)} ms`).join('; ')}`
              : ''),
        );
        if (m.non2xx > 0 || m.errors > 0) {
          out(
            `  !!!!! ${kind} ${ep} run ${r + 1}: ${m.non2xx} NON-2XX RESPONSES, ${m.errors} errors (${m.timeouts} timeouts); status codes ${JSON.stringify(m.statusCodes)}`,
          );
          for (const f of m.failures) out(`  !!!!! ${f.status} ${f.path}\n        ${f.body}`);
        }
      }
    }
    const countsAfter = (await ask(server, 'counts')).counts;
    if (countsAfter) out(`  tasks after the runs: ${describeCounts(countsAfter)}`);

    const summarize = (ep: Endpoint): EndpointReport => {
      const ms = runs[ep];
      const p99 = median(ms.map((m) => m.p99));
      return {
        p50: median(ms.map((m) => m.p50)),
        p99,
        rps: median(ms.map((m) => m.rps)),
        non2xx: ms.reduce((s, m) => s + m.non2xx, 0),
        errors: ms.reduce((s, m) => s + m.errors, 0),
        runs: ms,
        workerStepsPerSec: median(steps[ep]),
        goalMet: p99 <= GOAL_P99_MS && ms.every((m) => m.non2xx === 0 && m.errors === 0),
      };
    };
    return {
      store: kind,
      version,
      location,
      tasks: ids.length,
      seedSeconds,
      countsBefore,
      countsAfter,
      list: summarize('list'),
      detail: summarize('detail'),
    };
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
    await cleanup();
  }
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
      tasks: { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      worker: { type: 'string' },
      'worker-concurrency': { type: 'string' },
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
  return {
    targets,
    tasks: int(values.tasks, 100_000, '--tasks'),
    connections: int(values.connections, 50, '--connections'),
    duration: int(values.duration, 10, '--duration'),
    runs: int(values.runs, 3, '--runs'),
    warmup: int(values.warmup, 3, '--warmup', 0),
    worker,
    workerConcurrency: int(values['worker-concurrency'], 10, '--worker-concurrency'),
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
    `load      autocannon, ${cfg.connections} connections, ${cfg.duration} s per measurement, ${cfg.runs} run(s), ${cfg.warmup} s warm-up; ${fmt(cfg.tasks)} checkout tasks seeded pending per store`,
  );
  const reports: StoreReport[] = [];
  for (const t of cfg.targets) reports.push(await benchStore(cfg, t, out));

  const bad = reports.flatMap((r) =>
    (['list', 'detail'] as const)
      .filter((ep) => r[ep].non2xx > 0 || r[ep].errors > 0)
      .map((ep) => `${r.store} ${ep}: ${r[ep].non2xx} non-2xx, ${r[ep].errors} errors`),
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
          goalP99Ms: GOAL_P99_MS,
          stores: reports,
        },
        null,
        2,
      )}\n`,
    );
    return;
  }
  const lines = [
    '',
    `machine: ${machine}`,
    ...reports.map((r) => `${r.store}: ${r.version}`),
    `load: ${cfg.connections} connections × ${cfg.duration} s, medians of ${cfg.runs} run(s); ${fmt(cfg.tasks)} tasks seeded; worker ${cfg.worker}${cfg.worker === 'none' ? '' : `, concurrency ${cfg.workerConcurrency}`}`,
    'list: status=failed&namespace=ecommerce&limit=50, namespace=ecommerce&name=process_order&status=completed&limit=50, created_after=<10 min ago>&limit=100 in rotation',
    `detail: /tasks/<id>?include_dependencies=true over ${DETAIL_IDS} sampled ids`,
    '',
    '| store | endpoint | p50 ms | p99 ms | req/s | non-2xx | worker steps/s |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...reports.flatMap((r) =>
      (['list', 'detail'] as const).map((ep) => {
        const e = r[ep];
        return `| ${r.store} | ${ep} | ${fmt(e.p50, 2)} | ${fmt(e.p99, 2)} | ${fmt(e.rps)} | ${e.non2xx + e.errors} | ${cfg.worker === 'none' ? 'n/a' : fmt(e.workerStepsPerSec)} |`;
      }),
    ),
    '',
    ...reports.flatMap((r) =>
      (['list', 'detail'] as const).map(
        (ep) =>
          `goal p99 ≤ ${GOAL_P99_MS} ms, ${r.store} ${ep}: ${r[ep].goalMet ? 'met' : 'not met'} (${fmt(r[ep].p99, 2)} ms${r[ep].non2xx + r[ep].errors > 0 ? `; ${r[ep].non2xx} non-2xx, ${r[ep].errors} errors` : ''})`,
      ),
    ),
    ...(bad.length > 0 ? ['', `!!!!! FAILED REQUESTS: ${bad.join('; ')}`] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

const argv = process.argv.slice(2);
if (argv[0] === '--api-child') {
  await child(argv[1] ?? '{}');
} else {
  await main(argv);
}
