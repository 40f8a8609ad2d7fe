/**
 * Engine scenarios: task shapes (single, chain, fanout), the throughput runner (create all tasks, then
 * start the worker and time until every task completed) and the latency runner (a few tasks in flight).
 * Each run uses a fresh SQLite file in a temp dir and is meant to run in its own process (see main.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pino, { type Logger } from 'pino';
import { setupTracing } from '../src/telemetry/sdk.js';
import {
  createTasker,
  type StepHandlerContext,
  type StepTemplate,
  type Tasker,
  type TaskerOptions,
  type TaskStore,
  type TaskTemplate,
} from '../src/index.js';
import { PhaseProfiler } from './profile.js';
import { GcObserver, RssSampler, kernelMaxRssMiB, percentile, sortedCopy, type GcFigures } from './stats.js';

/** Tasks per createTasks() call when enqueueing a scenario. */
const CREATE_BATCH = 500;

export type ShapeName = 'single' | 'chain' | 'fanout';
export type TelemetryPart = 'logs' | 'metrics' | 'traces';
export type Sync = 'normal' | 'full';

export interface Shape {
  name: ShapeName;
  template: TaskTemplate;
  /** Step names in template order. */
  names: string[];
  /** Step name → index into `names`. */
  index: Map<string, number>;
  /** Dependencies of each step, as indexes. */
  deps: number[][];
}

const NAMESPACE = 'bench';
const HANDLER = 'work';

function stepTemplate(name: string, dependsOn: string[]): StepTemplate {
  return {
    name,
    handler: HANDLER,
    dependsOn,
    retry: {
      retryable: true,
      maxAttempts: 3,
      backoff: { baseSeconds: 1, multiplier: 2, maxSeconds: 300, jitter: 0.1 },
    },
    handlerConfig: {},
  };
}

function shape(name: ShapeName, steps: StepTemplate[]): Shape {
  const names = steps.map((s) => s.name);
  const index = new Map(names.map((n, i) => [n, i]));
  return {
    name,
    template: { namespace: NAMESPACE, name, version: '1.0.0', steps },
    names,
    index,
    deps: steps.map((s) => s.dependsOn.map((d) => index.get(d) ?? -1)),
  };
}

function buildShapes(): Record<ShapeName, Shape> {
  const chain = Array.from({ length: 10 }, (_, i) => stepTemplate(`s${i + 1}`, i === 0 ? [] : [`s${i}`]));
  const branches = Array.from({ length: 20 }, (_, i) => `p${String(i + 1).padStart(2, '0')}`);
  const fanout = [
    stepTemplate('root', []),
    ...branches.map((b) => stepTemplate(b, ['root'])),
    stepTemplate('join', branches),
  ];
  return {
    single: shape('single', [stepTemplate('only', [])]),
    chain: shape('chain', chain),
    fanout: shape('fanout', fanout),
  };
}

export const SHAPES: Record<ShapeName, Shape> = buildShapes();

/**
 * Records `performance.now()` when each handler starts and when it returns, per task and step, and derives
 * dispatch latency: for every step with dependencies, its start minus the latest finish of its dependencies.
 */
class StepClock {
  /** Per task: [start0, end0, start1, end1, …]. */
  private readonly byTask = new Map<string, Float64Array>();

  constructor(private readonly shape: Shape) {}

  readonly handler = (ctx: StepHandlerContext): { ok: true } => {
    const start = performance.now();
    let rec = this.byTask.get(ctx.task.id);
    if (rec === undefined) {
      rec = new Float64Array(this.shape.names.length * 2).fill(Number.NaN);
      this.byTask.set(ctx.task.id, rec);
    }
    const i = this.shape.index.get(ctx.step.name) ?? 0;
    rec[2 * i] = start;
    rec[2 * i + 1] = performance.now();
    return { ok: true };
  };

  /** Dispatch latencies in ms, ascending; NaN entries (a step that never ran) are skipped. */
  dispatchLatencies(): Float64Array {
    const out: number[] = [];
    for (const rec of this.byTask.values()) {
      this.shape.deps.forEach((deps, i) => {
        if (deps.length === 0) return;
        let ready = -Infinity;
        for (const d of deps) ready = Math.max(ready, rec[2 * d + 1] ?? Number.NaN);
        const lat = (rec[2 * i] ?? Number.NaN) - ready;
        if (Number.isFinite(lat)) out.push(lat);
      });
    }
    return sortedCopy(out);
  }

  /** When the first step (index 0) of a task started. */
  firstStart(taskId: string): number | undefined {
    return this.byTask.get(taskId)?.[0];
  }
}

/**
 * Times every `store.cycle` call (one SQLite transaction: load snapshots, plan, write, claim, commit; the
 * SQLite store does all of it synchronously inside the call), by wrapping the method on the instance.
 */
class CycleTimer {
  private readonly ms: number[] = [];

  constructor(store: TaskStore) {
    const original = store.cycle.bind(store);
    store.cycle = (input) => {
      const t0 = performance.now();
      const result = original(input);
      this.ms.push(performance.now() - t0);
      return result;
    };
  }

  summary(runMs: number): CycleFigures {
    const sorted = sortedCopy(this.ms);
    const total = this.ms.reduce((a, b) => a + b, 0);
    return {
      cycles: sorted.length,
      cycleP50Ms: percentile(sorted, 50),
      cycleP99Ms: percentile(sorted, 99),
      cycleMaxMs: sorted[sorted.length - 1] ?? Number.NaN,
      inCyclePct: (total / runMs) * 100,
    };
  }
}

export interface CycleFigures {
  cycles: number;
  /** Duration of one store.cycle call (one transaction), ms. */
  cycleP50Ms: number;
  cycleP99Ms: number;
  cycleMaxMs: number;
  /** Share of the run's wall time spent inside store.cycle. */
  inCyclePct: number;
}

function mean(sorted: Float64Array): number {
  return sorted.length === 0 ? Number.NaN : sorted.reduce((a, b) => a + b, 0) / sorted.length;
}

export interface WorkerCounters {
  ticks: number;
  claimed: number;
  committed: number;
  stale: number;
  recovered: number;
  storeErrors: number;
}

export interface EngineJob {
  kind: 'engine';
  scenario: ShapeName;
  tasks: number;
  concurrency: number;
  sync: Sync;
  /** Fail the run when no task completes for this long. */
  stallMs: number;
  /** Write CPU profiles of the create and run phases here (`<profilePrefix>-create.cpuprofile`, …). */
  profileDir?: string | undefined;
  profilePrefix?: string | undefined;
  /**
   * Telemetry comparison: `off` = no metrics, logs, tracing or performance monitoring; `on` = JSON logs at
   * info to a file, spans batch-exported over OTLP/HTTP to `otlpUrl`, metrics counted and scraped at the
   * end. Absent: the library defaults (what the other scenarios measure).
   */
  telemetry?:
    | {
        mode: 'off' | 'on';
        otlpUrl: string;
        traceSamplingRate?: number;
        /** One part of telemetry alone (the others and performance monitoring off); all: undefined. */
        only?: TelemetryPart | undefined;
      }
    | undefined;
  /** CPU each step's handler burns (a busy loop), to show a fixed per-step cost against real work. */
  workMs?: number | undefined;
  /** Record the worker in the registry (the library default: true). */
  workerRegistry?: boolean | undefined;
  leaseSeconds?: number | undefined;
  /**
   * Retention's cost: `oldTasks` one-step tasks finished 40 days ago are in the store before the run (made
   * by this engine with its clock set back); with `whileRunning`, a prune deletes them (the default batches
   * and pauses; with `archive`, archiving each batch first; `busyShare` instead of the default 0.05) from
   * the moment the timed run starts.
   */
  prune?:
    | {
        oldTasks: number;
        whileRunning: boolean;
        archive?: boolean | undefined;
        busyShare?: number | undefined;
      }
    | undefined;
}

export interface LatencyJob {
  kind: 'latency';
  tasks: number;
  inFlight: number;
  concurrency: number;
  sync: Sync;
  stallMs: number;
  profileDir?: string | undefined;
  profilePrefix?: string | undefined;
}

export interface EngineResult {
  kind: 'engine' | 'latency';
  scenario: string;
  tasks: number;
  steps: number;
  concurrency: number;
  /** Throughput scenarios only: seconds to create every task (engine stopped). */
  createSeconds: number | null;
  createTasksPerSec: number | null;
  runSeconds: number;
  /** CPU time of the process (all threads) during the run phase, as % of one core. */
  cpuUserPct: number;
  cpuSystemPct: number;
  stepsPerSec: number;
  tasksPerSec: number;
  /** Dependency finished → dependant started, ms. Null when the shape has no dependants. */
  dispatchP50Ms: number | null;
  dispatchP99Ms: number | null;
  dispatchMaxMs: number | null;
  dispatchMeanMs: number | null;
  dispatchSamples: number;
  /** Latency scenario only: createTask() called → first step's handler started, ms. */
  createToStartP50Ms: number | null;
  createToStartP99Ms: number | null;
  /** Latency scenario only: createTask() called → task.completed delivered to a subscriber, ms. */
  endToEndP50Ms: number | null;
  endToEndP99Ms: number | null;
  peakRssMiB: number;
  kernelMaxRssMiB: number;
  worker: WorkerCounters;
  cycle: CycleFigures;
  /** Garbage-collection pauses during the run phase. */
  gc: GcFigures;
  /** CPU profiles written (with --profile). */
  profiles: string[];
  /** Prune bench: old tasks the prune deleted while the run was timed. */
  prunedInRun?: number;
}

/** A handler that keeps the CPU busy for `ms` (0: returns at once). */
function busy(ms: number): () => { ok: true } {
  return () => {
    if (ms > 0) {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        // spin: stands for a step's own CPU work
      }
    }
    return { ok: true };
  };
}

function telemetryFor(
  job: EngineJob,
  dir: string,
): { logger: Logger | false; options: TaskerOptions['telemetry']; flush: () => Promise<void> } {
  const none = async () => {};
  if (!job.telemetry) return { logger: false, options: undefined, flush: none };
  if (job.telemetry.mode === 'off') {
    return {
      logger: false,
      options: {
        structuredLoggingEnabled: false,
        performanceMonitoringEnabled: false,
        metricsEnabled: false,
      },
      flush: none,
    };
  }
  const only = job.telemetry.only;
  const on = (part: TelemetryPart) => only === undefined || only === part;
  const tracing = on('traces')
    ? setupTracing({
        serviceName: 'tasker-bench',
        endpoint: job.telemetry.otlpUrl,
      })
    : undefined;
  if (on('traces') && !tracing) throw new Error('bench: could not set up tracing (OTEL_SDK_DISABLED?)');
  // Buffered file writes, as a production deployment logs.
  const dest = on('logs') ? pino.destination({ dest: join(dir, 'tasker.log'), sync: false }) : undefined;
  return {
    logger: dest ? pino({ level: 'info' }, dest) : false,
    options: {
      enabled: on('traces'),
      traceSamplingRate: job.telemetry.traceSamplingRate ?? 1,
      structuredLoggingEnabled: on('logs'),
      metricsEnabled: on('metrics'),
      performanceMonitoringEnabled: only === undefined,
    },
    flush: async () => {
      await tracing?.shutdown();
      dest?.flushSync();
    },
  };
}

/** `n` one-step tasks run to completion before the measured run (the prune bench's old history). */
async function seedFinished(
  tasker: Tasker,
  n: number,
  dbPath: string,
  stallMs: number,
  name: string,
): Promise<void> {
  for (let i = 0; i < n; i += CREATE_BATCH) {
    const batch = Array.from({ length: Math.min(CREATE_BATCH, n - i) }, (_, k) => ({
      namespace: NAMESPACE,
      name,
      context: { old: i + k },
    }));
    await tasker.createTasks(batch);
  }
  const { done } = completions(tasker, n, dbPath, stallMs);
  tasker.start();
  await done;
  await tasker.stop();
}

function tempDb(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tasker-bench-'));
  return { dir, path: join(dir, 'bench.db') };
}

function counters(tasker: Tasker): WorkerCounters {
  const s = tasker.workerStats();
  return s ? { ...s } : { ticks: 0, claimed: 0, committed: 0, stale: 0, recovered: 0, storeErrors: 0 };
}

/** What the database says, for a stall report. */
function diagnose(dbPath: string, tasker: Tasker): string {
  let rows = '';
  try {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      const q = (sql: string) =>
        (db.prepare(sql).all() as Array<{ status: string; n: number }>)
          .map((r) => `${r.status}=${r.n}`)
          .join(' ');
      rows = `tasks: ${q('SELECT status, COUNT(*) AS n FROM tasks GROUP BY status')}; steps: ${q(
        'SELECT status, COUNT(*) AS n FROM steps GROUP BY status',
      )}; ready steps: ${(db.prepare('SELECT COUNT(*) AS n FROM steps WHERE ready_at IS NOT NULL').get() as { n: number }).n}`;
    } finally {
      db.close();
    }
  } catch (err) {
    rows = `(could not read the database: ${String(err)})`;
  }
  return `${rows}; worker ${JSON.stringify(counters(tasker))}`;
}

/**
 * Resolves once `expected` task.completed events arrived. Rejects on task.failed / task.cancelled, or when
 * no task completed for `stallMs` (with a description of the database and worker state).
 */
function completions(
  tasker: Tasker,
  expected: number,
  dbPath: string,
  stallMs: number,
  onCompleted?: (taskId: string, at: number) => void,
): { done: Promise<number>; count: () => number } {
  let count = 0;
  const done = new Promise<number>((resolve, reject) => {
    let last = count;
    let lastAt = performance.now();
    const offs: Array<() => void> = [];
    const finish = (err?: Error) => {
      clearInterval(watchdog);
      offs.forEach((off) => off());
      if (err) reject(err);
      else resolve(performance.now());
    };
    const watchdog = setInterval(() => {
      const now = performance.now();
      if (count !== last) {
        last = count;
        lastAt = now;
      } else if (now - lastAt > stallMs) {
        finish(
          new Error(
            `stalled: ${count}/${expected} tasks completed, none in the last ${Math.round(stallMs / 1000)} s; ${diagnose(dbPath, tasker)}`,
          ),
        );
      }
    }, 250);
    offs.push(
      tasker.subscribe('task.completed', (e) => {
        count += 1;
        onCompleted?.(String(e.payload.task_id), performance.now());
        if (count === expected) finish();
      }),
      tasker.subscribe(['task.failed', 'task.cancelled'], (e) => {
        finish(new Error(`task ${e.payload.task_id} ended as ${e.name}: ${JSON.stringify(e.payload)}`));
      }),
    );
  });
  return { done, count: () => count };
}

export async function runEngine(job: EngineJob): Promise<EngineResult> {
  const sh = SHAPES[job.scenario];
  const { dir, path } = tempDb();
  const rss = new RssSampler().start();
  const clock = sh.names.length > 1 ? new StepClock(sh) : null;
  const t = telemetryFor(job, dir);
  let clockShift = job.prune ? 40 * 86_400_000 : 0;
  const tasker = await createTasker({
    database: `sqlite:${path}`,
    templates: [sh.template],
    handlers: { [HANDLER]: clock ? clock.handler : busy(job.workMs ?? 0) },
    concurrency: job.concurrency,
    logger: t.logger,
    telemetry: t.options,
    sqliteSynchronous: job.sync,
    workerRegistry: job.workerRegistry,
    leaseSeconds: job.leaseSeconds,
    now: () => Date.now() - clockShift,
  });
  if (job.telemetry?.mode === 'on') tasker.enableMetrics();
  const cycles = new CycleTimer(tasker.store);
  const profiler = new PhaseProfiler(job.profileDir, job.profilePrefix ?? job.scenario);
  const profiles: string[] = [];
  try {
    let pruning: Promise<number> | undefined;
    if (job.prune) {
      // The old tasks first (ids and times 40 days back), run to their end; then the clock is set right.
      await seedFinished(tasker, job.prune.oldTasks, path, job.stallMs, sh.name);
      clockShift = 0;
    }
    await profiler.start();
    const c0 = performance.now();
    // Bulk enqueue, as a producer with many tasks would: createTasks() commits each batch in one transaction.
    for (let i = 0; i < job.tasks; i += CREATE_BATCH) {
      const batch = Array.from({ length: Math.min(CREATE_BATCH, job.tasks - i) }, (_, k) => ({
        namespace: NAMESPACE,
        name: sh.name,
        context: { n: i + k },
      }));
      await tasker.createTasks(batch);
    }
    const createMs = performance.now() - c0;
    const createProfile = await profiler.stop('create');
    if (createProfile !== undefined) profiles.push(createProfile);

    const { done } = completions(tasker, job.tasks, path, job.stallMs);
    await profiler.start();
    const gcObserver = new GcObserver().start();
    const cpu0 = process.cpuUsage();
    const r0 = performance.now();
    tasker.start();
    const stopPruning = new AbortController();
    if (job.prune?.whileRunning)
      pruning = tasker
        .prune({
          archiveDir: job.prune.archive ? join(dir, 'archive') : undefined,
          busyShare: job.prune.busyShare,
          signal: stopPruning.signal,
        })
        .then((r) => r.tasks);
    const r1 = await done;
    const runMs = r1 - r0;
    const cpu = process.cpuUsage(cpu0);
    const gc = gcObserver.stop();
    const runProfile = await profiler.stop('run');
    if (runProfile !== undefined) profiles.push(runProfile);
    // Old tasks left when the run ended: what the prune deleted meanwhile (counted outside the timing).
    stopPruning.abort();
    await pruning;
    const prunedInRun = job.prune
      ? job.prune.oldTasks - (await tasker.countTasks({ createdBefore: Date.now() - 39 * 86_400_000 }))
      : undefined;
    const worker = counters(tasker);
    if (job.telemetry?.mode === 'on') await tasker.metrics.metrics(); // one scrape, as Prometheus would
    await tasker.close();
    await t.flush();
    const peak = rss.stop();

    const lat = clock?.dispatchLatencies() ?? new Float64Array(0);
    const steps = job.tasks * sh.names.length;
    return {
      kind: 'engine',
      scenario: job.scenario,
      tasks: job.tasks,
      steps,
      concurrency: job.concurrency,
      createSeconds: createMs / 1000,
      createTasksPerSec: job.tasks / (createMs / 1000),
      runSeconds: runMs / 1000,
      cpuUserPct: cpu.user / 10 / runMs,
      cpuSystemPct: cpu.system / 10 / runMs,
      stepsPerSec: steps / (runMs / 1000),
      tasksPerSec: job.tasks / (runMs / 1000),
      dispatchP50Ms: lat.length ? percentile(lat, 50) : null,
      dispatchP99Ms: lat.length ? percentile(lat, 99) : null,
      dispatchMaxMs: lat.length ? (lat[lat.length - 1] ?? null) : null,
      dispatchMeanMs: lat.length ? mean(lat) : null,
      dispatchSamples: lat.length,
      createToStartP50Ms: null,
      createToStartP99Ms: null,
      endToEndP50Ms: null,
      endToEndP99Ms: null,
      peakRssMiB: peak,
      kernelMaxRssMiB: kernelMaxRssMiB(),
      worker,
      cycle: cycles.summary(runMs),
      gc,
      profiles,
      ...(prunedInRun === undefined ? {} : { prunedInRun }),
    };
  } finally {
    rss.stop();
    await tasker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The 10-step chain with at most `inFlight` tasks alive: the engine is started first, `inFlight` tasks are
 * created, and each task.completed creates the next. Shows dispatch latency when the engine is not saturated.
 */
export async function runLatency(job: LatencyJob): Promise<EngineResult> {
  const sh = SHAPES.chain;
  const { dir, path } = tempDb();
  const rss = new RssSampler().start();
  const clock = new StepClock(sh);
  const tasker = await createTasker({
    database: `sqlite:${path}`,
    templates: [sh.template],
    handlers: { [HANDLER]: clock.handler },
    concurrency: job.concurrency,
    logger: false,
    sqliteSynchronous: job.sync,
  });
  const cycles = new CycleTimer(tasker.store);
  try {
    const createdAt = new Map<string, number>();
    const completedAt = new Map<string, number>();
    let created = 0;
    let createError: unknown;
    const createOne = () => {
      if (created >= job.tasks) return;
      created += 1;
      const t = performance.now();
      tasker.createTask({ namespace: NAMESPACE, name: sh.name, context: { n: created } }).then(
        (r) => createdAt.set(r.task.id, t),
        (err: unknown) => (createError ??= err),
      );
    };
    const { done } = completions(tasker, job.tasks, path, job.stallMs, (id, at) => {
      completedAt.set(id, at);
      createOne();
    });
    const profiler = new PhaseProfiler(job.profileDir, job.profilePrefix ?? 'latency');
    await profiler.start();
    tasker.start();
    const gcObserver = new GcObserver().start();
    const cpu0 = process.cpuUsage();
    const r0 = performance.now();
    for (let i = 0; i < job.inFlight; i++) createOne();
    const r1 = await done;
    const cpu = process.cpuUsage(cpu0);
    const gc = gcObserver.stop();
    const profile = await profiler.stop('run');
    if (createError !== undefined) throw createError;
    const runMs = r1 - r0;
    const worker = counters(tasker);
    await tasker.close();
    const peak = rss.stop();

    const toStart: number[] = [];
    const e2e: number[] = [];
    for (const [id, t] of createdAt) {
      const s = clock.firstStart(id);
      if (s !== undefined && Number.isFinite(s)) toStart.push(s - t);
      const c = completedAt.get(id);
      if (c !== undefined) e2e.push(c - t);
    }
    const lat = clock.dispatchLatencies();
    const ts = sortedCopy(toStart);
    const ee = sortedCopy(e2e);
    const steps = job.tasks * sh.names.length;
    return {
      kind: 'latency',
      scenario: 'latency',
      tasks: job.tasks,
      steps,
      concurrency: job.concurrency,
      createSeconds: null,
      createTasksPerSec: null,
      runSeconds: runMs / 1000,
      cpuUserPct: cpu.user / 10 / runMs,
      cpuSystemPct: cpu.system / 10 / runMs,
      stepsPerSec: steps / (runMs / 1000),
      tasksPerSec: job.tasks / (runMs / 1000),
      dispatchP50Ms: percentile(lat, 50),
      dispatchP99Ms: percentile(lat, 99),
      dispatchMaxMs: lat[lat.length - 1] ?? null,
      dispatchMeanMs: mean(lat),
      dispatchSamples: lat.length,
      createToStartP50Ms: percentile(ts, 50),
      createToStartP99Ms: percentile(ts, 99),
      endToEndP50Ms: percentile(ee, 50),
      endToEndP99Ms: percentile(ee, 99),
      peakRssMiB: peak,
      kernelMaxRssMiB: kernelMaxRssMiB(),
      worker,
      cycle: cycles.summary(runMs),
      gc,
      profiles: profile === undefined ? [] : [profile],
    };
  } finally {
    rss.stop();
    await tasker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
