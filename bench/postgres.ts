/**
 * `npm run bench -- --db postgres://…`: the engine on PostgreSQL with 1, 2 and 4 worker processes, plus
 * graphile-worker and pg-boss doing the equivalent no-op jobs against the same server in the same run.
 * Prints figures (medians of --runs) and ratios; it is not a test.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createTasker, type TaskTemplate } from '../src/index.js';
import { admin, baseUrl, withSchema } from './pg-admin.js';
import { processCpuSeconds, serverCpuSeconds } from './proc-cpu.js';
import { fmt, lossText, median, variantFigures } from './stats.js';

const DAY = 86_400_000;

const SINGLE: TaskTemplate = {
  namespace: 'bench',
  name: 'single',
  version: '1.0.0',
  steps: [
    {
      name: 'only',
      handler: 'noop',
      dependsOn: [],
      retry: {
        retryable: true,
        maxAttempts: 3,
        backoff: { baseSeconds: 1, multiplier: 2, maxSeconds: 300, jitter: 0.1 },
      },
      handlerConfig: {},
    },
  ],
};

const CHAIN: TaskTemplate = {
  namespace: 'bench',
  name: 'chain',
  version: '1.0.0',
  steps: Array.from({ length: 10 }, (_, i) => ({
    name: `s${i}`,
    handler: 'timed',
    dependsOn: i === 0 ? [] : [`s${i - 1}`],
    retry: {
      retryable: true,
      maxAttempts: 3,
      backoff: { baseSeconds: 1, multiplier: 2, maxSeconds: 300, jitter: 0.1 },
    },
    handlerConfig: {},
  })),
};

interface PgConfig {
  url: string;
  runs: number;
  /** Tasks per run: the size being measured. */
  tasks: number;
  /** Every size to measure (`--tasks 10000,100000`), each against the peers at the same size. */
  sizes: number[];
  workers: number[];
  concurrency: number;
  json: boolean;
  /** Skip the dispatch-latency run and the peers: for profiling the engine alone. */
  engineOnly: boolean;
  /** Instead of the peers: retention's cost under load (`--prune`), see pruneComparison. */
  prune: boolean;
}

interface WorkerJob {
  database: string;
  concurrency: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.floor(p * s.length))] as number);
};

async function transactions(url: string): Promise<number> {
  return admin(url, async (c) => {
    const r = await c.query<{ n: string }>(
      'SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = current_database()',
    );
    return Number(r.rows[0]?.n ?? 0);
  });
}

const self = () => fileURLToPath(new URL('./main.js', import.meta.url));

/** A child process: `tasks` one-step tasks created and run to the end with a clock 40 days back, then exit. */
export async function postgresOldTasksChild(jobJson: string): Promise<void> {
  const job = JSON.parse(jobJson) as { database: string; tasks: number };
  const tasker = await createTasker({
    database: job.database,
    templates: [SINGLE],
    handlers: { noop: () => ({ ok: true }) },
    logger: false,
    migrate: true,
    concurrency: 256,
    now: () => Date.now() - 40 * DAY,
  });
  let finished = 0;
  const all = new Promise<void>((r) =>
    tasker.subscribe('task.completed', () => {
      if (++finished === job.tasks) r();
    }),
  );
  for (let i = 0; i < job.tasks; i += 1000)
    await tasker.createTasks(
      Array.from({ length: Math.min(1000, job.tasks - i) }, () => ({ namespace: 'bench', name: 'single' })),
    );
  tasker.start();
  await all;
  await tasker.close();
  process.exit(0);
}

/** A child process: one engine worker, started on 'go', stopped on 'stop'. */
export async function postgresWorkerChild(jobJson: string): Promise<void> {
  const job = JSON.parse(jobJson) as WorkerJob;
  const tasker = await createTasker({
    database: job.database,
    templates: [SINGLE],
    handlers: { noop: () => ({ ok: true }) },
    concurrency: job.concurrency,
    logger: false,
  });
  process.on('message', (m) => {
    if (m === 'go') tasker.start();
    if (m === 'stop') {
      void tasker.close().then(() => {
        process.send?.({ stats: tasker.workerStats() ?? null }, () => process.exit(0));
      });
    }
  });
  process.send?.('ready');
}

async function engineRun(
  cfg: PgConfig,
  workers: number,
  /** Retention's cost: as many tasks finished 40 days ago stored first; `pruning`: a prune deletes them meanwhile. */
  prune?: { pruning: boolean; busyShare?: number | undefined; archive?: boolean | undefined },
): Promise<{ stepsPerSec: number; idleTxPerSecPerWorker: number; cpu: CpuPerStep; pruned?: number }> {
  const schema = `tasker_bench_${randomBytes(4).toString('hex')}`;
  const database = withSchema(cfg.url, schema);
  if (prune) {
    // The old history first, in a process of its own: task ids are UUIDv7 and monotonic per process, so
    // ids taken here at the real time would stamp later ones "now" whatever the clock said.
    const child = fork(self(), ['--pg-old-tasks', JSON.stringify({ database, tasks: cfg.tasks })], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    if (code !== 0) throw new Error(`the old tasks' process exited with ${code}`);
  }
  const seed = await createTasker({ database, templates: [SINGLE], logger: false, migrate: true });
  for (let i = 0; i < cfg.tasks; i += 1000) {
    await seed.createTasks(
      Array.from({ length: Math.min(1000, cfg.tasks - i) }, () => ({ namespace: 'bench', name: 'single' })),
    );
  }
  if (!prune) await seed.close();
  const children = Array.from({ length: workers }, () =>
    fork(
      self(),
      ['--pg-worker', JSON.stringify({ database, concurrency: cfg.concurrency } satisfies WorkerJob)],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        // TASKER_BENCH_CHILD_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles each worker process.
        execArgv: (process.env.TASKER_BENCH_CHILD_ARGS ?? '').split(' ').filter(Boolean),
      },
    ),
  );
  try {
    await Promise.all(children.map((c) => new Promise<void>((r) => c.once('message', () => r()))));
    const cpu0 = { server: serverCpuSeconds(), workers: workersCpu(children) };
    const t0 = performance.now();
    for (const c of children) c.send('go');
    const stopPruning = new AbortController();
    const archiveDir = prune?.archive ? mkdtempSync(join(tmpdir(), 'tasker-bench-archive-')) : undefined;
    const pruning = prune?.pruning
      ? seed
          .prune({ signal: stopPruning.signal, busyShare: prune.busyShare, archiveDir })
          .then((r) => {
            if (process.env.DBG) console.error(JSON.stringify({ ...r, rules: undefined }));
            return r;
          })
          .finally(() => {
            if (archiveDir !== undefined) rmSync(archiveDir, { recursive: true, force: true });
          })
      : undefined;
    const done = await admin(cfg.url, async (c) => {
      for (;;) {
        // An index probe, not a count: the watcher must not compete with the workers for the server's CPU.
        const r = await c.query<{ left: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM "${schema}".tasks WHERE status IN ('pending', 'in_progress')) AS left`,
        );
        if (r.rows[0]?.left === false) return performance.now();
        await new Promise((res) => setTimeout(res, 20));
      }
    });
    const cpu = cpuPerStep(cpu0, { server: serverCpuSeconds(), workers: workersCpu(children) }, cfg.tasks);
    let pruned: number | undefined;
    if (prune) {
      stopPruning.abort();
      await pruning;
      pruned = cfg.tasks - (await seed.countTasks({ createdBefore: Date.now() - 39 * DAY }));
      await seed.close();
    }
    // Idle: nothing left to do; count every transaction the server sees for a few seconds. Vacuum first, so
    // autovacuum's own transactions after the churn are not counted against the workers.
    await admin(cfg.url, async (c) => {
      for (const table of ['tasks', 'steps', 'transition_log', 'step_attempts'])
        await c.query(`VACUUM ANALYZE "${schema}".${table}`);
    });
    await new Promise((r) => setTimeout(r, 1500));
    const x0 = await transactions(cfg.url);
    await new Promise((r) => setTimeout(r, 5000));
    const x1 = await transactions(cfg.url);
    return {
      stepsPerSec: cfg.tasks / ((done - t0) / 1000),
      idleTxPerSecPerWorker: (x1 - x0 - 1) / 5 / workers,
      cpu,
      ...(pruned === undefined ? {} : { pruned }),
    };
  } finally {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((r) => {
            c.once('exit', () => r());
            c.send('stop');
          }),
      ),
    );
    await admin(cfg.url, (c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  }
}

/** Dispatch latency on PostgreSQL, unsaturated: a 10-step chain, 2 tasks in flight, one worker. */
async function latencyRun(cfg: PgConfig): Promise<{ p50: number; p99: number }> {
  const schema = `tasker_bench_${randomBytes(4).toString('hex')}`;
  const database = withSchema(cfg.url, schema);
  const ends = new Map<string, number>();
  const gaps: number[] = [];
  const tasker = await createTasker({
    database,
    templates: [CHAIN],
    logger: false,
    migrate: true,
    concurrency: 8,
    handlers: {
      timed: ({ task, step }) => {
        const now = performance.now();
        const i = Number(step.name.slice(1));
        const prev = ends.get(`${task.id}:${i - 1}`);
        if (prev !== undefined) gaps.push(now - prev);
        ends.set(`${task.id}:${i}`, performance.now());
        return null;
      },
    },
  });
  tasker.start();
  try {
    for (let i = 0; i < 50; i++) {
      const batch = await tasker.createTasks([
        { namespace: 'bench', name: 'chain' },
        { namespace: 'bench', name: 'chain' },
      ]);
      for (const b of batch) await tasker.waitForTask(b.task.id, { timeoutMs: 30_000, pollMs: 5 });
    }
  } finally {
    await tasker.close();
    await admin(cfg.url, (c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  }
  return { p50: pct(gaps, 0.5), p99: pct(gaps, 0.99) };
}

async function graphileRun(cfg: PgConfig): Promise<{ rate: number; cpu: CpuPerStep }> {
  const { run, makeWorkerUtils } = await import('graphile-worker');
  const connectionString = baseUrl(cfg.url);
  await admin(cfg.url, (c) => c.query('DROP SCHEMA IF EXISTS graphile_worker CASCADE'));
  const utils = await makeWorkerUtils({ connectionString });
  await utils.migrate();
  for (let i = 0; i < cfg.tasks; i += 1000) {
    await utils.addJobs(
      Array.from({ length: Math.min(1000, cfg.tasks - i) }, () => ({ identifier: 'noop', payload: {} })),
    );
  }
  await utils.release();
  let done = 0;
  let resolve!: () => void;
  const all = new Promise<void>((r) => (resolve = r));
  // graphile-worker runs in this process: its worker CPU is this process's (the bench's own is idle then).
  const cpu0 = { server: serverCpuSeconds(), workers: ownCpu() };
  const t0 = performance.now();
  // The tuned settings graphile-worker's docs recommend for throughput (see docs/performance.md).
  const runner = await run({
    connectionString,
    concurrency: 24,
    noHandleSignals: true,
    pollInterval: 1000,
    preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0 } },
    logger: new (await import('graphile-worker')).Logger(() => () => {}),
    taskList: {
      noop: () => {
        if (++done === cfg.tasks) resolve();
        return Promise.resolve();
      },
    },
  });
  await all;
  const rate = cfg.tasks / ((performance.now() - t0) / 1000);
  const cpu = cpuPerStep(cpu0, { server: serverCpuSeconds(), workers: ownCpu() }, cfg.tasks);
  await runner.stop();
  await admin(cfg.url, (c) => c.query('DROP SCHEMA IF EXISTS graphile_worker CASCADE'));
  return { rate, cpu };
}

async function pgBossRun(cfg: PgConfig): Promise<number> {
  const { default: PgBoss } = await import('pg-boss');
  const schema = `pgboss_bench_${randomBytes(4).toString('hex')}`;
  const boss = new PgBoss({ connectionString: baseUrl(cfg.url), schema });
  boss.on('error', () => {});
  await boss.start();
  await boss.createQueue('noop');
  for (let i = 0; i < cfg.tasks; i += 1000) {
    await boss.insert(
      Array.from({ length: Math.min(1000, cfg.tasks - i) }, () => ({ name: 'noop', data: {} })),
    );
  }
  let done = 0;
  let resolve!: () => void;
  const all = new Promise<void>((r) => (resolve = r));
  const t0 = performance.now();
  await boss.work('noop', { batchSize: 1000, pollingIntervalSeconds: 0.5 }, (jobs) => {
    done += jobs.length;
    if (done >= cfg.tasks) resolve();
    return Promise.resolve();
  });
  await all;
  const rate = cfg.tasks / ((performance.now() - t0) / 1000);
  await boss.stop({ graceful: false, wait: true });
  await admin(cfg.url, (c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  return rate;
}

const count = (n: number): string => n.toLocaleString('en-US');

/** CPU per step (µs) in the timed window: the database server's (null: not on this machine) and the workers'. */
interface CpuPerStep {
  server: number | null;
  workers: number | null;
}

function workersCpu(children: ReadonlyArray<{ pid?: number | undefined }>): number | null {
  let t = 0;
  for (const c of children) {
    const s = c.pid === undefined ? null : processCpuSeconds(c.pid);
    if (s === null) return null;
    t += s;
  }
  return t;
}

function ownCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function cpuPerStep(
  a: { server: number | null; workers: number | null },
  b: { server: number | null; workers: number | null },
  steps: number,
): CpuPerStep {
  const per = (x: number | null, y: number | null) =>
    x === null || y === null ? null : ((y - x) / steps) * 1e6;
  return { server: per(a.server, b.server), workers: per(a.workers, b.workers) };
}

const cpuText = (c: CpuPerStep): string =>
  `CPU a step: server ${c.server === null ? 'n/a' : `${fmt(c.server)} µs`}, workers ${c.workers === null ? 'n/a' : `${fmt(c.workers)} µs`}`;

const medianOrNull = (xs: Array<number | null>): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length === 0 ? null : median(v);
};

const medianCpu = (cs: CpuPerStep[]): CpuPerStep => ({
  server: medianOrNull(cs.map((c) => c.server)),
  workers: medianOrNull(cs.map((c) => c.workers)),
});

interface SizeReport {
  tasks: number;
  rows: Array<{
    workers: number;
    stepsPerSec: number;
    idleTxPerSecPerWorker: number;
    vsGraphile: number;
    vsPgBoss: number;
    cpu: CpuPerStep;
  }>;
  graphileJobsPerSec: number;
  graphileCpu: CpuPerStep;
  pgBossJobsPerSec: number;
}

/** The engine with each worker count, then the peers, all at one size. */
async function measureSize(cfg: PgConfig, out: (s: string) => void): Promise<SizeReport> {
  const engine: Record<number, { steps: number[]; idle: number[]; cpu: CpuPerStep[] }> = {};
  for (const w of cfg.workers) {
    engine[w] = { steps: [], idle: [], cpu: [] };
    for (let r = 0; r < cfg.runs; r++) {
      const res = await engineRun(cfg, w);
      engine[w].steps.push(res.stepsPerSec);
      engine[w].idle.push(res.idleTxPerSecPerWorker);
      engine[w].cpu.push(res.cpu);
      out(
        `  ${count(cfg.tasks)} tasks, tasker, ${w} worker process(es), run ${r + 1}: ${fmt(res.stepsPerSec)} steps/s; idle ${fmt(res.idleTxPerSecPerWorker, 2)} tx/s per worker; ${cpuText(res.cpu)}`,
      );
    }
  }
  const graphile: number[] = [];
  const graphileCpu: CpuPerStep[] = [];
  const boss: number[] = [];
  if (!cfg.engineOnly) {
    for (let r = 0; r < cfg.runs; r++) {
      const g = await graphileRun(cfg);
      graphile.push(g.rate);
      graphileCpu.push(g.cpu);
      out(
        `  ${count(cfg.tasks)} jobs, graphile-worker 0.17.3 run ${r + 1}: ${fmt(g.rate)} jobs/s; ${cpuText(g.cpu)}`,
      );
      boss.push(await pgBossRun(cfg));
      out(`  ${count(cfg.tasks)} jobs, pg-boss 10.4.2 run ${r + 1}: ${fmt(boss[r] ?? NaN)} jobs/s`);
    }
  }
  const g = median(graphile);
  const b = median(boss);
  return {
    tasks: cfg.tasks,
    rows: cfg.workers.map((w) => {
      const e = engine[w] ?? { steps: [], idle: [], cpu: [] };
      return {
        workers: w,
        stepsPerSec: median(e.steps),
        idleTxPerSecPerWorker: median(e.idle),
        vsGraphile: median(e.steps) / g,
        vsPgBoss: median(e.steps) / b,
        cpu: medianCpu(e.cpu),
      };
    }),
    graphileJobsPerSec: g,
    graphileCpu: medianCpu(graphileCpu),
    pgBossJobsPerSec: b,
  };
}

function parse(argv: string[]): PgConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      db: { type: 'string' },
      runs: { type: 'string' },
      tasks: { type: 'string' },
      workers: { type: 'string' },
      concurrency: { type: 'string' },
      json: { type: 'boolean', default: false },
      'engine-only': { type: 'boolean', default: false },
      prune: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const int = (v: string | undefined, d: number, name: string) => {
    const n = v === undefined ? d : Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: expected a positive integer, got ${v}`);
    return n;
  };
  const sizes = (values.tasks ?? '10000').split(',').map((n) => int(n.trim(), 10_000, '--tasks'));
  return {
    url: values.db ?? '',
    runs: int(values.runs, 3, '--runs'),
    // The first size is current; each size's run gets its own.
    tasks: sizes[0] ?? 10_000,
    sizes,
    workers: (values.workers ?? '1,2,4').split(',').map((w) => int(w.trim(), 1, '--workers')),
    concurrency: int(values.concurrency, 256, '--concurrency'),
    json: values.json,
    engineOnly: values['engine-only'],
    prune: values.prune,
  };
}

/**
 * Retention's cost under load on PostgreSQL: 2 workers, a store that also holds as many tasks finished 40
 * days ago, without a prune, with one (another process, the defaults) deleting them while the run is
 * timed, with one archiving them first, and with one that does not yield to the engine (busy_share 1);
 * the order rotates between runs,
 * the loss is taken within a run, then the median.
 */
async function pruneComparison(cfg: PgConfig, out: (s: string) => void): Promise<void> {
  const variants = [
    { key: 'idle', label: 'no prune', prune: { pruning: false } },
    { key: 'pruning', label: 'a prune deleting the old ones', prune: { pruning: true }, baseline: 'idle' },
    {
      key: 'archiving',
      label: 'a prune archiving, then deleting them',
      prune: { pruning: true, archive: true },
      baseline: 'idle',
    },
    {
      key: 'unyielding',
      label: 'a prune not yielding (busy_share 1)',
      prune: { pruning: true, busyShare: 1 },
      baseline: 'idle',
    },
  ];
  const got = new Map<string, number[]>(variants.map((v) => [v.key, []]));
  const deleted = new Map<string, number[]>(variants.map((v) => [v.key, []]));
  for (let r = 0; r < cfg.runs; r++) {
    // Rotated, so each variant runs first, second, … in turn.
    for (const v of [...variants.slice(r % variants.length), ...variants.slice(0, r % variants.length)]) {
      const res = await engineRun(cfg, 2, v.prune);
      got.get(v.key)?.push(res.stepsPerSec);
      if (v.prune.pruning) deleted.get(v.key)?.push(res.pruned ?? 0);
      out(
        `  ${count(cfg.tasks)} tasks, 2 workers, ${v.label}, run ${r + 1}: ${fmt(res.stepsPerSec)} steps/s${v.prune.pruning ? `, ${res.pruned ?? 0} old tasks deleted meanwhile` : ''}`,
      );
    }
  }
  const lines = [
    `prune on PostgreSQL (${count(cfg.tasks)} tasks, as many finished 40 days ago; goal ≤ 5 % lost):`,
  ];
  for (const v of variants) {
    const f = variantFigures(v, got);
    const gone = v.prune.pruning ? `; deleted ${(deleted.get(v.key) ?? []).join(', ')} meanwhile` : '';
    lines.push(`  ${v.label}: ${fmt(f.median)} steps/s${lossText(f)}${gone}`);
  }
  out(lines.join('\n'));
}

export async function postgresMain(argv: string[]): Promise<void> {
  const cfg = parse(argv);
  const out = (s: string) => process.stderr.write(`${s}\n`);
  if (cfg.prune) {
    for (const tasks of cfg.sizes) await pruneComparison({ ...cfg, tasks }, out);
    return;
  }
  const server = await admin(cfg.url, async (c) => {
    const v = await c.query<{ v: string; sc: string }>(
      "SELECT version() AS v, current_setting('synchronous_commit') AS sc",
    );
    return v.rows[0];
  });
  out(`tasker-engine PostgreSQL benchmark`);
  out(
    `machine   ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; node ${process.version}`,
  );
  out(`server    ${server?.v.split(' on ')[0] ?? '?'}, synchronous_commit=${server?.sc ?? '?'}`);
  out(
    `work      ${cfg.sizes.map(count).join(' and ')} one-step no-op tasks per run, ${cfg.runs} run(s), engine concurrency ${cfg.concurrency} per worker`,
  );
  const sizes: SizeReport[] = [];
  for (const tasks of cfg.sizes) sizes.push(await measureSize({ ...cfg, tasks }, out));
  if (cfg.engineOnly) return;
  const lat = await latencyRun(cfg);
  out(`  tasker dispatch (10-step chain, 2 in flight): p50 ${fmt(lat.p50, 2)} ms, p99 ${fmt(lat.p99, 2)} ms`);
  const first = sizes[0]!;
  const report = {
    machine: cpus()[0]?.model,
    cores: cpus().length,
    server: server?.v,
    synchronousCommit: server?.sc,
    runs: cfg.runs,
    // The first size's figures at the top level, as before there were several.
    tasks: first.tasks,
    rows: first.rows,
    graphileJobsPerSec: first.graphileJobsPerSec,
    pgBossJobsPerSec: first.pgBossJobsPerSec,
    dispatchMs: lat,
    sizes,
  };
  if (cfg.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const lines = [
    '',
    '| tasks | workers | tasker steps/s | idle tx/s per worker | vs graphile-worker | vs pg-boss | server CPU µs/step | workers CPU µs/step |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...sizes.flatMap((z) =>
      z.rows.map(
        (r) =>
          `| ${count(z.tasks)} | ${r.workers} | ${fmt(r.stepsPerSec)} | ${fmt(r.idleTxPerSecPerWorker, 2)} | ${fmt(r.vsGraphile, 2)}× | ${fmt(r.vsPgBoss, 2)}× | ${r.cpu.server === null ? 'n/a' : fmt(r.cpu.server)} | ${r.cpu.workers === null ? 'n/a' : fmt(r.cpu.workers)} |`,
      ),
    ),
    '',
    ...sizes.map(
      (z) =>
        `at ${count(z.tasks)} jobs: graphile-worker 0.17.3 (1 process, concurrency 24, localQueue 500, completeJobBatchDelay 0) ${fmt(z.graphileJobsPerSec)} jobs/s (${cpuText(z.graphileCpu)}), pg-boss 10.4.2 (1 process, batchSize 1000, polling 0.5 s) ${fmt(z.pgBossJobsPerSec)} jobs/s (medians)`,
    ),
    `tasker dispatch, unsaturated 10-step chain: p50 ${fmt(lat.p50, 2)} ms, p99 ${fmt(lat.p99, 2)} ms (goal ≤ 3 ms: ${lat.p50 <= 3 ? 'met' : 'not met'})`,
    ...sizes.map((z) => {
      const two = z.rows.find((r) => r.workers === 2);
      const ratio = two?.vsGraphile ?? 0;
      return `at ${count(z.tasks)}: 2 workers ${two ? `${fmt(ratio, 2)}×` : 'not measured'} graphile-worker (acceptance ≥ 0.5×: ${ratio >= 0.5 ? 'met' : 'not met'}; goal ≥ 1.0×: ${ratio >= 1 ? 'met' : 'not met'})`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
