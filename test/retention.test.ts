/**
 * Retention and pruning (Tasker.prune, `tasker db prune`): on both stores, what goes and what stays.
 * The engine's clock is moved forward instead of creating tasks in the past, as time passes in production.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildServer } from '../src/fastify.js';
import { TaskerError } from '../src/index.js';
import { compileRetention } from '../src/config/retention.js';
import { formatDuration, parseDuration } from '../src/core/duration.js';
import { pruneRules } from '../src/core/retention.js';
import { loadTemplateSource } from '../src/templates/load.js';
import type { TaskerOptions } from '../src/index.js';
import { nextEvent, signal, sleep, startEngine, storeKind, tempDir } from './support/harness.js';

const CRASH = join(import.meta.dirname, 'fixtures', 'prune-crash.mjs');

const DAY = 86_400_000;

const TEMPLATES = [
  `
namespace: shop
name: order
version: 1.0.0
steps:
  - { name: pay, handler: ok }
`,
  `
namespace: shop
name: keep
version: 1.0.0
retention: { completed: never }
steps:
  - { name: pay, handler: ok }
`,
  `
namespace: shop
name: brief
version: 1.0.0
retention: { completed: 1h }
steps:
  - { name: pay, handler: ok }
`,
  `
namespace: shop
name: fail
version: 1.0.0
steps:
  - { name: pay, handler: boom, retry: { max_attempts: 1 } }
`,
  `
namespace: shop
name: slow
version: 1.0.0
steps:
  - { name: pay, handler: hang }
`,
];

async function setup(options: Partial<TaskerOptions> = {}) {
  let clock = Date.now();
  const release = signal();
  const h = await startEngine(
    TEMPLATES,
    {
      ok: () => ({ ok: true }),
      boom: () => {
        throw new Error('card declined');
      },
      hang: () => release.promise,
    },
    { now: () => clock, ...options },
  );
  const { tasker } = h;
  const make = async (name: string) =>
    (await tasker.createTask({ namespace: 'shop', name, context: { n: 1 } })).task.id;
  const order = await make('order');
  const keep = await make('keep');
  const brief = await make('brief');
  const failed = await make('fail');
  for (const id of [order, keep, brief, failed]) await tasker.waitForTask(id, { timeoutMs: 10_000 });
  const started = nextEvent(tasker, 'step.started');
  const running = await make('slow');
  await started;
  const cancelledStarted = nextEvent(tasker, 'step.started');
  const cancelled = await make('slow');
  await cancelledStarted;
  await tasker.cancelTask(cancelled, 'customer changed their mind');
  // A pending task: the worker is stopped before it is created (the running one's handler is released
  // only at the end, so stop() would wait for it: it is told to give up at once).
  await tasker.stop(1);
  const pending = await make('order');
  const ids = { order, keep, brief, failed, running, cancelled, pending };
  return {
    tasker,
    database: h.database,
    ids,
    advance: (ms: number) => (clock += ms),
    exists: async (id: string) => (await tasker.taskSnapshots([id])).length === 1,
    release: () => release.fire(),
  };
}

describe('prune', () => {
  it('deletes finished tasks past their age whole, keeps recent, pending and running ones, and a dry run changes nothing', async () => {
    const s = await setup();
    const { tasker, ids } = s;

    // A day later: only `brief` (its own 1h) is due.
    s.advance(DAY);
    const early = await tasker.prune({ dryRun: true });
    expect(early.tasks).toBe(1);
    expect(early.byTemplate).toEqual([{ namespace: 'shop', name: 'brief', status: 'complete', count: 1 }]);
    expect(await s.exists(ids.brief)).toBe(true);

    // 40 days later: completed (7d), failed (30d) and cancelled (7d) are due; `keep` never is.
    s.advance(39 * DAY);
    const dry = await tasker.prune({ dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.tasks).toBe(4);
    expect(dry.byTemplate).toEqual([
      { namespace: 'shop', name: 'brief', status: 'complete', count: 1 },
      { namespace: 'shop', name: 'fail', status: 'error', count: 1 },
      { namespace: 'shop', name: 'order', status: 'complete', count: 1 },
      { namespace: 'shop', name: 'slow', status: 'cancelled', count: 1 },
    ]);
    for (const id of Object.values(ids)) expect(await s.exists(id)).toBe(true);

    const attemptsBefore = await tasker.attemptsOf([ids.failed]);
    expect(attemptsBefore.length).toBe(1);
    const done = await tasker.prune({ batchSize: 2, pauseMs: 0 });
    expect(done.dryRun).toBe(false);
    expect(done.tasks).toBe(4);
    expect(done.byTemplate).toEqual(dry.byTemplate);
    for (const id of [ids.order, ids.brief, ids.failed, ids.cancelled]) {
      expect(await s.exists(id)).toBe(false);
      expect(await tasker.attemptsOf([id])).toEqual([]);
      expect(await tasker.getTransitions(id)).toEqual([]);
      await expect(tasker.getTask(id)).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
    }
    for (const id of [ids.keep, ids.running, ids.pending]) expect(await s.exists(id)).toBe(true);
    expect((await tasker.getTask(ids.running)).task.status).toBe('in_progress');
    expect((await tasker.getTask(ids.pending)).task.status).toBe('pending');
    expect((await tasker.getTransitions(ids.keep)).length).toBeGreaterThan(0);

    // Nothing left to do: a second prune deletes nothing, and the lists no longer name the pruned tasks.
    expect((await tasker.prune()).tasks).toBe(0);
    const listed = (await tasker.listTasks({ limit: 100 })).tasks.map((t) => t.id).sort();
    expect(listed).toEqual([ids.keep, ids.running, ids.pending].sort());
    s.release();
  });

  it('narrows to a class, a namespace and an age given on demand, and keeps audit entries to their own age', async () => {
    const s = await setup();
    const { tasker, ids } = s;
    s.advance(2 * DAY);
    // --older-than replaces every age, templates' own included, for the classes asked for only.
    const r = await tasker.prune({ olderThan: '1d', status: 'completed' });
    expect(r.rules).toEqual([
      { class: 'completed', age: '1d', from: 'request', namespace: null, name: null },
    ]);
    expect(r.byTemplate.map((x) => x.name).sort()).toEqual(['brief', 'keep', 'order']);
    expect(await s.exists(ids.failed)).toBe(true);
    expect(await s.exists(ids.cancelled)).toBe(true);
    expect(r.audit).toBe(0);
    expect((await tasker.prune({ olderThan: '1d', namespace: 'elsewhere' })).tasks).toBe(0);
    expect(await s.exists(ids.failed)).toBe(true);

    // The cancel wrote an audit entry; a policy prune keeps it for a year, then deletes it.
    expect((await tasker.listAudit({ taskId: ids.cancelled })).length).toBe(1);
    s.advance(400 * DAY);
    const late = await tasker.prune({ dryRun: true });
    expect(late.audit).toBe(1);
    const gone = await tasker.prune();
    expect(gone.audit).toBe(1);
    expect(await tasker.listAudit({})).toEqual([]);
    expect(await s.exists(ids.running)).toBe(true);
    expect(await s.exists(ids.pending)).toBe(true);
    s.release();
  });

  it('leaves a task that changed between selection and delete', async () => {
    const s = await setup();
    const { tasker, ids } = s;
    s.advance(40 * DAY);
    const [rule] = pruneRules({
      now: Date.now() + 40 * DAY + 1000,
      policy: { completed: null, failed: 30 * DAY, cancelled: null },
      templates: [],
      classes: ['failed'],
    });
    if (!rule) throw new Error('no rule');
    const batch = await tasker.store.findPrunable(rule, 10);
    expect(batch.map((t) => t.id)).toEqual([ids.failed]);
    await tasker.retryTask(ids.failed, 'one more go');
    expect(await tasker.store.deleteTasks(batch, rule)).toEqual([]);
    expect(await s.exists(ids.failed)).toBe(true);
    s.release();
  });

  it('refuses bad options by name and deletes nothing', async () => {
    const s = await setup();
    const { tasker, ids } = s;
    s.advance(40 * DAY);
    const bad: unknown[] = [
      'all',
      { batchSize: 'x' },
      { batchSize: 0 },
      { status: 'done' },
      { olderThan: '5x' },
      { olderThan: 30 },
      { dryrun: true },
      { namespace: 7 },
      { signal: 'stop' },
    ];
    for (const options of bad) {
      const err = await tasker.prune(options as never).catch((e: unknown) => e);
      expect(err, JSON.stringify(options)).toBeInstanceOf(TaskerError);
      expect((err as TaskerError).code).toBe('INVALID_ARGUMENT');
    }
    await expect(tasker.prune({ status: 'done' as never })).rejects.toThrow(
      'status: expected one of completed, failed, cancelled, got "done"',
    );
    for (const id of Object.values(ids)) expect(await s.exists(id)).toBe(true);
    // An aborted prune stops before its first batch: nothing is deleted.
    const stopped = new AbortController();
    stopped.abort();
    const r = await tasker.prune({ signal: stopped.signal });
    expect(r).toMatchObject({ tasks: 0, batches: 0 });
    for (const id of Object.values(ids)) expect(await s.exists(id)).toBe(true);
    s.release();
  });
});

describe('archive', () => {
  it('writes every batch, whole and redacted, before deleting it; import brings the tasks back as they were', async () => {
    const s = await setup();
    const { tasker, ids } = s;
    const secret = (
      await tasker.createTask({
        namespace: 'shop',
        name: 'order',
        context: { card_number: '4111111111111111', n: 2 },
      })
    ).task.id;
    // Started again, the worker runs the pending task and the secret one to completion.
    tasker.start();
    await tasker.waitForTask(secret, { timeoutMs: 10_000 });
    await tasker.waitForTask(ids.pending, { timeoutMs: 10_000 });
    await tasker.stop(1);
    const gone = [ids.order, ids.brief, ids.failed, ids.cancelled, ids.pending, secret];
    const before = await Promise.all(
      gone.map(async (id) => ({
        snapshot: (await tasker.taskSnapshots([id]))[0],
        attempts: await tasker.attemptsOf([id]),
        transitions: await tasker.getTransitions(id),
      })),
    );
    s.advance(40 * DAY);
    const dir = join(tempDir(), 'archive');
    const report = await tasker.prune({ archiveDir: dir, batchSize: 2, pauseMs: 0 });
    expect(report.tasks).toBe(6);
    expect(report.archiveFiles.length).toBe(report.batches);
    expect(readdirSync(dir).sort()).toEqual(report.archiveFiles.map((f) => basename(f)).sort());
    const text = report.archiveFiles.map((f) => gunzipSync(readFileSync(f)).toString('utf8')).join('');
    expect(text.trim().split('\n').length).toBe(6);
    expect(text).not.toContain('4111111111111111');
    expect(text).toContain('[FILTERED]');
    for (const id of gone) expect(await s.exists(id)).toBe(false);

    let imported = 0;
    for (const f of report.archiveFiles) {
      const r = await tasker.importArchive(f);
      expect(r.skipped).toEqual([]);
      imported += r.imported.length;
    }
    expect(imported).toBe(6);
    for (const [i, id] of gone.entries()) {
      const was = before[i]?.snapshot;
      // Exactly as they were, but for what filter_parameters masks.
      const expected =
        id === secret && was
          ? { ...was, task: { ...was.task, context: { card_number: '[FILTERED]', n: 2 } } }
          : was;
      expect((await tasker.taskSnapshots([id]))[0]).toEqual(expected);
      expect(await tasker.attemptsOf([id])).toEqual(before[i]?.attempts);
      expect(await tasker.getTransitions(id)).toEqual(before[i]?.transitions);
    }
    // Imported again: every task is there already, nothing is overwritten.
    const again = await tasker.importArchive(report.archiveFiles[0] ?? '');
    expect(again.imported).toEqual([]);
    expect(again.skipped.length).toBe(again.tasks);
    // A fresh task still gets a step id of its own after imported steps brought theirs. (Created at the
    // real time: an id taken at the advanced clock would make every later id of this process as late.)
    s.advance(-40 * DAY);
    const fresh = (await tasker.createTask({ namespace: 'shop', name: 'order', context: { n: 3 } })).task.id;
    const stepIds = (await tasker.taskSnapshots([...gone, fresh])).flatMap((t) => t.steps.map((x) => x.id));
    expect(new Set(stepIds).size).toBe(stepIds.length);
    s.release();
  });

  it('refuses a damaged archive by file, line and field, and imports nothing of it', async () => {
    const s = await setup();
    const { tasker, ids } = s;
    s.advance(40 * DAY);
    const dir = join(tempDir(), 'archive');
    const [file] = (await tasker.prune({ archiveDir: dir, status: 'completed', olderThan: '1d' }))
      .archiveFiles;
    if (!file) throw new Error('no archive file');
    const lines = gunzipSync(readFileSync(file)).toString('utf8').trim().split('\n');
    const broken = JSON.parse(lines[lines.length - 1] ?? '{}') as { steps: Array<{ status: string }> };
    (broken.steps[0] as { status: string }).status = 'finished';
    const bad = join(dir, 'bad.jsonl.gz');
    writeFileSync(bad, gzipSync(`${[...lines.slice(0, -1), JSON.stringify(broken)].join('\n')}\n`));
    await expect(tasker.importArchive(bad)).rejects.toThrow(
      `${bad}:${lines.length}: steps[0].status: expected one of pending, in_progress`,
    );
    expect(await s.exists(ids.order)).toBe(false);
    writeFileSync(bad, 'not gzip');
    await expect(tasker.importArchive(bad)).rejects.toMatchObject({ code: 'ARCHIVE_FAILED' });
    await expect(tasker.importArchive(join(dir, 'missing.jsonl.gz'))).rejects.toMatchObject({
      code: 'ARCHIVE_FAILED',
    });
    s.release();
  });

  it('loses nothing when the pruner is SIGKILLed between the archive file and the delete', async () => {
    const s = await setup();
    const { tasker, ids } = s;
    const dir = join(tempDir(), 'archive');
    const child = spawn(process.execPath, [CRASH, s.database, dir, String(40 * DAY)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, sig) => r(sig)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('archived') && resolve());
      child.on('exit', () => reject(new Error('the pruner exited before archiving')));
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    // The file is whole; the tasks are still in the store.
    const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl.gz'));
    expect(files.length).toBe(1);
    const archived = gunzipSync(readFileSync(join(dir, files[0] ?? '')))
      .toString('utf8')
      .trim()
      .split('\n');
    // The first batch is `brief`'s (its own 1h): the killed process never loaded that template, yet it
    // read its retention from the store, and kept `keep` (never) as its template asks.
    expect(archived.map((l) => (JSON.parse(l) as { task: { id: string } }).task.id)).toEqual([ids.brief]);
    for (const id of [ids.order, ids.brief, ids.failed, ids.cancelled, ids.keep])
      expect(await s.exists(id)).toBe(true);
    // The next prune finishes the job (archiving `brief` again: import skips what it finds present).
    s.advance(40 * DAY);
    expect((await tasker.prune({ archiveDir: dir })).tasks).toBe(4);
    expect(await s.exists(ids.brief)).toBe(false);
    const r = await tasker.importArchive(join(dir, files[0] ?? ''));
    expect(r.imported).toEqual([ids.brief]);
    expect((await tasker.getTask(ids.brief)).task.status).toBe('complete');
    expect(await s.exists(ids.keep)).toBe(true);
    s.release();
  });
});

describe('pruning in workers', () => {
  it('prunes on its own every prune_interval, counts it in metrics and reports it in retentionStatus()', async () => {
    const s = await setup({ retention: { pruneInterval: '1s' }, telemetry: { metricsEnabled: true } });
    const { tasker, ids } = s;
    tasker.enableMetrics();
    s.advance(40 * DAY);
    expect(tasker.retentionStatus().nextAt).toBeNull(); // stopped by setup
    tasker.start();
    expect(tasker.retentionStatus().nextAt).toBeGreaterThan(Date.now());
    const deadline = Date.now() + 10_000;
    while (tasker.retentionStatus().last === null && Date.now() < deadline) await sleep(50);
    const last = tasker.retentionStatus().last;
    expect(last).toMatchObject({ tasks: 4, error: null, skipped: null });
    expect(await s.exists(ids.order)).toBe(false);
    expect(await s.exists(ids.keep)).toBe(true);
    const text = await tasker.metrics.metrics();
    expect(text).toMatch(/^tasker_pruned_tasks_total\{status="complete"\} 2$/m);
    expect(text).toMatch(/^tasker_pruned_tasks_total\{status="error"\} 1$/m);
    expect(text).toMatch(/^tasker_pruned_tasks_total\{status="cancelled"\} 1$/m);
    const bytes = Number(/^tasker_store_size_bytes (\d+)$/m.exec(text)?.[1]);
    expect(bytes).toBeGreaterThan(10_000);
    const stats = await tasker.storeStats();
    expect(stats.bytes).toBeGreaterThan(10_000);
    // The oldest task left is `keep`, created first of those left.
    const keep = await tasker.getTask(ids.keep);
    expect(stats.oldestTaskCreatedAt).toBe(keep.task.createdAt);
    expect(text).toContain(`tasker_oldest_task_timestamp_seconds ${keep.task.createdAt / 1000}`);
    // The same, as /tasker/health reports it.
    const app = await buildServer(tasker, { processMetrics: false });
    try {
      const health = (await app.inject({ url: '/tasker/health' })).json<{
        checks: { retention: Record<string, unknown> };
      }>();
      const retention = health.checks.retention;
      expect(retention).toMatchObject({
        status: 'healthy',
        pruning: 'in_workers',
        keep: { completed: '7d', failed: '30d', cancelled: '7d', audit: '365d' },
        last_prune_at: new Date(last?.at ?? 0).toISOString(),
        last_pruned_tasks: 4,
        oldest_task_created_at: new Date(keep.task.createdAt).toISOString(),
      });
      expect(retention.store_size_bytes).toBeGreaterThan(10_000);
      // The schedule runs on the process's timers, not on the engine's (moved) clock.
      expect(Date.parse(String(retention.next_prune_at))).toBeGreaterThan(Date.now() - 1000);
    } finally {
      await app.close();
    }
    await tasker.stop(1);
    expect(tasker.retentionStatus().nextAt).toBeNull();
    s.release();
  });

  it('runs one prune at a time: a second one is skipped while the first holds the prune lock', async () => {
    const s = await setup();
    const { tasker, ids } = s;
    s.advance(40 * DAY);
    const held = signal();
    let inner: Awaited<ReturnType<typeof tasker.prune>> | undefined;
    const holder = tasker.store.exclusive('prune', async () => {
      inner = await tasker.prune({ dryRun: true });
      await held.promise;
    });
    await sleep(50);
    expect(inner?.skipped).toBe('another prune is running');
    if (storeKind() === 'postgres') {
      // Another process on the same schema (a second worker) is refused by the advisory lock.
      const other = await startEngine(
        TEMPLATES,
        { ok: () => null, boom: () => null, hang: () => null },
        {
          database: s.database,
          start: false,
          migrate: false,
          now: () => Date.now() + 40 * DAY,
        },
      );
      const report = await other.tasker.prune();
      expect(report).toMatchObject({ skipped: 'another prune is running', tasks: 0 });
      expect(await s.exists(ids.order)).toBe(true);
      held.fire();
      await holder;
      expect((await other.tasker.prune()).tasks).toBe(4);
    } else {
      held.fire();
      await holder;
      expect((await tasker.prune()).tasks).toBe(4);
    }
    expect(await s.exists(ids.order)).toBe(false);
    s.release();
  });
});

describe('pacing', () => {
  it('rests longer after each batch while the engine works, in this process or another, not while it is idle; a stop ends a rest', async () => {
    const s = await setup();
    const { tasker } = s;
    // Eight more orders run to their end (the setup's pending one too), and a task whose step will hang
    // once the worker starts again: all made before the clock moves, since ids are time-ordered and
    // monotonic in a process (ids minted "40 days on" would stamp the later tests' tasks in the future).
    tasker.start();
    const orders = [];
    for (let i = 0; i < 8; i++)
      orders.push((await tasker.createTask({ namespace: 'shop', name: 'order' })).task.id);
    for (const id of [...orders, s.ids.pending]) await tasker.waitForTask(id, { timeoutMs: 10_000 });
    await tasker.stop(1);
    const slow = (await tasker.createTask({ namespace: 'shop', name: 'slow' })).task.id;
    s.advance(40 * DAY); // 13 tasks due: the setup's 5 finished ones and these 8

    // A stop during a long rest ends the prune then, not a minute later.
    const stop = new AbortController();
    const t0 = Date.now();
    const stopped = tasker.prune({ batchSize: 1, pauseMs: 60_000, signal: stop.signal });
    await sleep(300);
    stop.abort();
    expect(await stopped).toMatchObject({ tasks: 1, batches: 1 });
    expect(Date.now() - t0).toBeLessThan(10_000);
    // Idle: nothing runs and nothing is written meanwhile.
    const idle = await tasker.prune({ batchSize: 1, pauseMs: 1, maxTasks: 4 });
    expect(idle).toMatchObject({ tasks: 4, batches: 4, busyBatches: 0 });

    // Another process creates tasks (at the real time) while this one, its worker stopped, prunes: the
    // store's activity mark moves.
    const other = await startEngine(
      TEMPLATES,
      { ok: () => null, boom: () => null, hang: () => null },
      { database: s.database, start: false, migrate: false },
    );
    let writing = true;
    const made: string[] = [];
    const writer = (async () => {
      while (writing) {
        made.push((await other.tasker.createTask({ namespace: 'shop', name: 'order' })).task.id);
        await sleep(1); // SQLite's calls complete in microtasks: let the timers run
      }
    })();
    await sleep(20);
    const busy = await tasker.prune({ batchSize: 1, pauseMs: 5, busyShare: 0.5, maxTasks: 4 });
    writing = false;
    await writer;
    expect(busy).toMatchObject({ tasks: 4, batches: 4 });
    // The first batch may fall before the writer's next commit; every later one follows a rest with one.
    expect(busy.busyBatches).toBeGreaterThanOrEqual(3);

    // This process's worker holds a step, and nothing is written meanwhile: its own work counts too.
    const started = nextEvent(tasker, 'step.started', (e) => e.payload.task_id === slow);
    tasker.start();
    await started;
    for (const id of made) await tasker.waitForTask(id, { timeoutMs: 10_000 });
    const local = await tasker.prune({ batchSize: 1, pauseMs: 1, busyShare: 0.5 });
    expect(local).toMatchObject({ tasks: 4, batches: 4, busyBatches: 4 });
    s.release();
  });

  it('refuses a busy share outside 0.01–1 by name', async () => {
    const s = await setup();
    for (const busyShare of [0, 1.5, '0.5', Number.NaN]) {
      const err = await s.tasker.prune({ busyShare } as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TaskerError);
      expect((err as Error).message).toContain('busyShare: expected a number from 0.01 to 1');
    }
    expect(() => compileRetention({ busy_share: 2 })).toThrow(/retention\.busy_share/);
    expect(compileRetention({ busy_share: 0.2 }).busyShare).toBe(0.2);
    expect(compileRetention({}).busyShare).toBe(0.05);
    s.release();
  });
});

describe.skipIf(storeKind() !== 'sqlite')('SQLite space', () => {
  it('gives the pages of pruned tasks back to the filesystem, a batch at a time', async () => {
    let clock = Date.now();
    const database = `sqlite:${join(tempDir(), 'space.db')}`;
    const { tasker } = await startEngine(
      TEMPLATES[0] ?? '',
      { ok: () => ({ ok: true }) },
      { database, now: () => clock },
    );
    const blob = 'x'.repeat(20_000);
    const created = await tasker.createTasks(
      Array.from({ length: 300 }, (_, n) => ({ namespace: 'shop', name: 'order', context: { n, blob } })),
    );
    for (const c of created) await tasker.waitForTask(c.task.id, { timeoutMs: 20_000 });
    await tasker.stop();
    const before = (await tasker.storeStats()).bytes;
    expect(before).toBeGreaterThan(6_000_000);
    clock += 40 * DAY;
    expect((await tasker.prune({ pauseMs: 0 })).tasks).toBe(300);
    const after = (await tasker.storeStats()).bytes;
    expect(after).toBeLessThan(before / 4);
  });
});

describe('retention settings', () => {
  it('reads durations, never, and refuses anything else by name', () => {
    expect(parseDuration('7d', 'x')).toBe(7 * DAY);
    expect(parseDuration('1d12h', 'x')).toBe(1.5 * DAY);
    expect(parseDuration('90s', 'x')).toBe(90_000);
    expect(parseDuration('never', 'x', true)).toBeNull();
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(() => parseDuration('never', 'retention.x')).toThrow(/retention.x: expected a duration/);
    expect(compileRetention(undefined)).toEqual({
      policy: { completed: 7 * DAY, failed: 30 * DAY, cancelled: 7 * DAY },
      auditMs: 365 * DAY,
      enabled: true,
      intervalMs: 600_000,
      batchSize: 100,
      batchPauseMs: 500,
      busyShare: 0.05,
    });
    expect(() => compileRetention({ prune_interval: 'never' })).toThrow(
      /retention.prune_interval: expected a duration such as 7d, 12h, 30m, 90s or 2w, got "never"/,
    );
    expect(compileRetention({ completed: '1d', failed: 'never' }).policy).toEqual({
      completed: DAY,
      failed: null,
      cancelled: 7 * DAY,
    });
    expect(() => compileRetention({ complete: '1d' })).toThrow(
      /retention.complete: unknown setting \(did you mean "completed"\?\)/,
    );
    expect(() => compileRetention({ failed: 30 })).toThrow(/retention.failed: expected a duration .* got 30/);
  });

  it('checks a template’s own retention, in YAML and in code', async () => {
    const { issues } = loadTemplateSource(
      `
namespace: shop
name: x
version: 1.0.0
retention: { completed: soon, kept: 1d }
steps:
  - { name: a, handler: ok }
`,
      'x.yaml',
    );
    expect(issues.map((i) => i.message).join('\n')).toMatch(/expected a duration .* got "soon"/);
    expect(issues.map((i) => i.message).join('\n')).toMatch(/unknown key `kept`/);
    const { createTasker } = await import('../src/index.js');
    await expect(
      createTasker({
        database: ':memory:',
        logger: false,
        templates: [
          {
            namespace: 'shop',
            name: 'x',
            version: '1.0.0',
            retention: { failed: '10 days' },
            steps: [
              {
                name: 'a',
                handler: 'ok',
                dependsOn: [],
                handlerConfig: {},
                retry: {
                  retryable: true,
                  maxAttempts: 1,
                  backoff: { baseSeconds: 1, multiplier: 2, maxSeconds: 1, jitter: 0 },
                },
              },
            ],
          },
        ],
      }),
    ).rejects.toThrow(/retention.failed "10 days" is not a duration/);
  });
});
