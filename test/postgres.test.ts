/**
 * PostgreSQL-only behaviour: claims that exactly one of several workers wins, wake-ups across engines via
 * LISTEN/NOTIFY, lost connections, and clear refusals (server down, schema missing). Runs in the
 * `postgres` test project only.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTasker, PostgresStore, TaskerError } from '../src/index.js';
import type { PgType } from '../src/store/columns.js';
import { LATEST_POSTGRES_VERSION, POSTGRES_MIGRATIONS } from '../src/store/postgres/migrations.js';
import { resolvePostgres } from '../src/store/postgres/connect.js';
import { binaryArray, literal } from '../src/store/postgres/sql.js';
import { PG_URL, sleep, startEngine, tempDir, templatesFromYaml, testDatabase } from './support/harness.js';

const ONE = `
namespace: pgt
name: one
version: 1.0.0
steps:
  - { name: only, handler: ok }
`;

const CHAIN = `
namespace: pgt
name: chain
version: 1.0.0
steps:
  - { name: a, handler: work }
  - { name: b, handler: work, depends_on: [a] }
  - { name: c, handler: work, depends_on: [a] }
  - { name: d, handler: work, depends_on: [b, c] }
`;

describe('PostgreSQL store', () => {
  it('lets exactly one of two racing workers claim each ready step, 2,000 times over', async () => {
    const database = testDatabase();
    const producer = await createTasker({
      database,
      templates: templatesFromYaml(ONE),
      logger: false,
      migrate: true,
    });
    const a = await PostgresStore.open({ url: database });
    const b = await PostgresStore.open({ url: database });
    try {
      const claim = { limit: 1, leaseMs: 30_000 };
      let doubles = 0;
      let misses = 0;
      for (let round = 0; round < 2000; round++) {
        const { task } = await producer.createTask({ namespace: 'pgt', name: 'one' });
        const now = Date.now();
        const [ra, rb] = await Promise.all([
          a.cycle({ workerId: 'a', now, outcomes: [], claim, recoverExpiredLeases: false }),
          b.cycle({ workerId: 'b', now, outcomes: [], claim, recoverExpiredLeases: false }),
        ]);
        const winners = [...ra.claimed, ...rb.claimed].filter((c) => c.task.id === task.id);
        if (winners.length > 1) doubles += 1;
        if (winners.length === 0) misses += 1;
        // Finish the step so the next round starts from an empty queue.
        const w = winners[0];
        if (w) {
          const owner = ra.claimed.includes(w) ? a : b;
          await owner.cycle({
            workerId: owner === a ? 'a' : 'b',
            now: Date.now(),
            outcomes: [
              {
                kind: 'success',
                taskId: w.task.id,
                stepId: w.step.id,
                attempt: w.step.attempts,
                workerId: owner === a ? 'a' : 'b',
                startedAt: now,
                finishedAt: Date.now(),
                results: null,
              },
            ],
            claim: null,
            recoverExpiredLeases: false,
          });
        }
      }
      expect(doubles).toBe(0);
      expect(misses).toBe(0);
    } finally {
      await Promise.all([a.close(), b.close(), producer.close()]);
    }
  }, 120_000);

  it('a change made by another engine is seen by a worker that cached the task (revision check), never overwritten', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const handlers = {
      work: async ({ step }: { step: { name: string } }) => {
        if (step.name === 'b') await released; // ignores its abort signal: finishes late, after the cancel
        return step.name;
      },
    };
    const a = await startEngine(CHAIN, handlers);
    // Engine B: another process's engine on the same schema; it only operates on tasks.
    const b = await createTasker({
      database: a.database,
      templates: templatesFromYaml(CHAIN),
      logger: false,
    });
    try {
      const { task } = await a.tasker.createTask({ namespace: 'pgt', name: 'chain' });
      for (let i = 0; i < 200; i++) {
        const d = await b.getTask(task.id);
        if (d.steps.find((s) => s.name === 'b')?.status === 'in_progress') break;
        await sleep(10);
      }
      expect((await b.cancelTask(task.id, 'from engine B')).task.status).toBe('cancelled');
      release();
      // Engine A holds a snapshot of this task from when it claimed b; it must not record b's late result.
      await sleep(300);
      const d = await b.getTask(task.id);
      expect(d.task.status).toBe('cancelled');
      expect(d.steps.find((s) => s.name === 'b')).toMatchObject({ status: 'cancelled', results: null });
      expect(d.steps.find((s) => s.name === 'd')?.status).toBe('cancelled');
      expect(a.tasker.workerStats()?.storeErrors).toBe(0);
      // And engine A keeps working: a new task runs to completion.
      const next = await a.tasker.createTask({ namespace: 'pgt', name: 'chain' });
      expect((await a.tasker.waitForTask(next.task.id, { timeoutMs: 10_000 })).status).toBe('complete');
    } finally {
      await b.close();
    }
  });

  it('wakes an idle worker in another engine within milliseconds (LISTEN/NOTIFY), not at its poll', async () => {
    const database = testDatabase();
    const started: number[] = [];
    const { tasker: worker } = await startEngine(
      ONE,
      { ok: () => void started.push(Date.now()) },
      { database, pollIntervalMs: 60_000 },
    );
    const producer = await createTasker({ database, templates: templatesFromYaml(ONE), logger: false });
    try {
      await sleep(300); // let the worker's first poll pass and its LISTEN connect
      const t0 = Date.now();
      const { task } = await producer.createTask({ namespace: 'pgt', name: 'one' });
      expect((await worker.waitForTask(task.id, { timeoutMs: 5000, pollMs: 20 })).status).toBe('complete');
      expect((started[0] ?? Infinity) - t0).toBeLessThan(1000);
    } finally {
      await producer.close();
    }
  });

  it('an idle worker with LISTEN up leaves the store alone between safety polls, and polls again when LISTEN drops', async () => {
    const app = `tasker_idle_${Date.now()}`;
    const database = `${testDatabase()}&application_name=${app}`;
    // Recovery due only every 30 s: what remains is the poll.
    const { tasker } = await startEngine(
      ONE,
      { ok: () => 1 },
      { database, pollIntervalMs: 50, leaseSeconds: 60 },
    );
    const ticks = () => tasker.workerStats()?.ticks ?? 0;
    await sleep(500); // LISTEN connected, the first look and recovery done
    const before = ticks();
    await sleep(1000);
    // Polling at 50 ms would be ~20 ticks a second; with LISTEN up, none.
    expect(ticks() - before).toBeLessThanOrEqual(1);
    expect(tasker.workerHealth()).toEqual({ alive: true });
    // Work made ready by another process still starts at once (by notification).
    const producer = await createTasker({ database, templates: templatesFromYaml(ONE), logger: false });
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      const { task } = await producer.createTask({ namespace: 'pgt', name: 'one' });
      expect((await tasker.waitForTask(task.id, { timeoutMs: 2000, pollMs: 20 })).status).toBe('complete');
      // LISTEN lost: the worker polls at its interval until it is back.
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'",
        [app],
      );
      await sleep(50);
      const lost = ticks();
      await sleep(60);
      expect(ticks()).toBeGreaterThan(lost);
    } finally {
      await admin.end();
      await producer.close();
    }
  });

  it('survives its connections being terminated mid-run: reconnects and finishes, nothing lost or doubled', async () => {
    const app = `tasker_term_${Date.now()}`;
    const database = `${testDatabase()}&application_name=${app}`;
    const { tasker } = await startEngine(
      CHAIN,
      { work: () => sleep(Math.random() * 5) },
      { database, concurrency: 16, pollIntervalMs: 100 },
    );
    const created = await tasker.createTasks(
      Array.from({ length: 150 }, () => ({ namespace: 'pgt', name: 'chain' })),
    );
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      await sleep(150); // work in flight: cycles, heartbeats, the LISTEN connection
      const killed = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
        [app],
      );
      expect(killed.rowCount).toBeGreaterThan(0);
      for (const { task } of created) {
        expect((await tasker.waitForTask(task.id, { timeoutMs: 30_000 })).status).toBe('complete');
      }
      for (const { task } of created.slice(0, 20)) {
        const d = await tasker.getTask(task.id);
        for (const s of d.steps)
          expect(d.attempts.filter((x) => x.stepId === s.id && x.outcome === 'complete')).toHaveLength(1);
      }
    } finally {
      await admin.end();
    }
  }, 60_000);

  it('binds batch columns as binary arrays the server reads back exactly: every type, NULLs, awkward text', async () => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      const cases: Array<[PgType, unknown[], unknown[]]> = [
        ['bigint', [0, 1, -1, 2 ** 32, -(2 ** 32) - 5, Number.MAX_SAFE_INTEGER, null], []],
        ['int', [0, 7, -7, 2147483647, -2147483648, null], []],
        ['float8', [0.5, -1e300, 3, null], []],
        [
          'uuid',
          ['0190a5e2-7c3b-7d4e-8f00-0123456789ab', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', null],
          ['0190a5e2-7c3b-7d4e-8f00-0123456789ab', 'ffffffff-ffff-ffff-ffff-ffffffffffff', null],
        ],
        [
          'text',
          [
            'plain',
            '',
            'NULL',
            'a "quoted", {braced} \\ back',
            'ünïcødé ✓ \u{1F600}',
            'nul\u0000here',
            'x'.repeat(100),
            `${'é'.repeat(70)}\u0000`,
            null,
          ],
          [
            'plain',
            '',
            'NULL',
            'a "quoted", {braced} \\ back',
            'ünïcødé ✓ \u{1F600}',
            'nul\ufffdhere',
            'x'.repeat(100),
            `${'é'.repeat(70)}\ufffd`,
            null,
          ],
        ],
        ['jsonb', ['{"a":[1,2]}', 'null', null], []],
      ];
      for (const [type, values, expected] of cases) {
        const cast = type === 'jsonb' ? 'text' : type;
        const r = await c.query<{ v: unknown[] }>(`SELECT $1::${cast}[] AS v`, [binaryArray(values, type)]);
        const read = r.rows[0]!.v.map((x) => (type === 'bigint' && x !== null ? Number(x) : x));
        expect(read, type).toEqual(expected.length > 0 ? expected : values);
        const empty = await c.query<{ n: number }>(`SELECT cardinality($1::${cast}[]) AS n`, [
          binaryArray([], type),
        ]);
        expect(empty.rows[0]!.n).toBe(0);
      }
      // What would be a server error (or a silently truncated value) is refused with the value named.
      expect(() => binaryArray([1.5], 'bigint')).toThrow(/bigint column was given 1.5/);
      expect(() => binaryArray([2 ** 31], 'int')).toThrow(/int column was given 2147483648/);
      expect(() => binaryArray(['not-a-uuid'], 'uuid')).toThrow(/not a uuid: "not-a-uuid"/);
      const long = '0190a5e2-7c3b-7d4e-8f00-0123456789abc';
      expect(() => binaryArray([long], 'uuid')).toThrow(/not a uuid/);
    } finally {
      await c.end();
    }
  });

  it('connects with index lookups costed for cached storage and no JIT, unless the URL says otherwise', async () => {
    const settings = async (url: string) => {
      const c = new pg.Client(resolvePostgres({ url }).config);
      await c.connect();
      try {
        const r = await c.query<{ rpc: string; jit: string }>(
          "SELECT current_setting('random_page_cost') AS rpc, current_setting('jit') AS jit",
        );
        return r.rows[0];
      } finally {
        await c.end();
      }
    };
    expect(await settings(PG_URL)).toEqual({ rpc: '1.1', jit: 'off' });
    const own = new URL(PG_URL);
    own.searchParams.set('options', '-c random_page_cost=2 -c jit=on');
    expect(await settings(own.toString())).toEqual({ rpc: '2', jit: 'on' });
  });

  it('inlines values into one-round-trip reads exactly as the server reads them back, and refuses the rest', async () => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      const texts = ["o'brien", 'back\\slash', "both \\' and ''", '', 'ünïcode ✓', 'semi; DROP TABLE x; --'];
      for (const t of texts) {
        const r = await c.query<{ v: string }>(`SELECT ${literal(t)} AS v`);
        expect(r.rows[0]?.v).toBe(t);
      }
      const r = await c.query<{ n: string[]; s: string[] }>(
        `SELECT ${literal([1796169170404, -5, 0])}::bigint[]::text[] AS n, ${literal(texts)}::text[] AS s`,
      );
      expect(r.rows[0]).toEqual({ n: ['1796169170404', '-5', '0'], s: texts });
      expect((await c.query<{ e: string[] }>(`SELECT ${literal([])}::text[] AS e`)).rows[0]?.e).toEqual([]);
    } finally {
      await c.end();
    }
    const bad: unknown[] = [Number.NaN, Infinity, undefined, null, {}];
    for (const v of bad) expect(() => literal(v as number)).toThrow(TaskerError);
  });

  it('refuses a schema that is not installed, naming the migration to apply', async () => {
    const database = testDatabase(); // a fresh schema name nobody migrated
    const err = await createTasker({ database, logger: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SCHEMA_VERSION_MISMATCH' });
    expect((err as Error).message).toMatch(
      new RegExp(
        `is at version 0 \\(not installed\\); this tasker-engine needs ${LATEST_POSTGRES_VERSION}\\. Apply 001_initial, 002_task_revision, 003_task_list_indexes, 004_telemetry, 005_console, 006_triage, 007_task_fillfactor, 008_transition_log, 009_retention, 010_business_dimensions with: tasker db migrate`,
      ),
    );
  });

  it('refuses a schema one migration behind, naming it; migrating then upgrades it in place, keeping its tasks', async () => {
    const database = testDatabase();
    const schema = new URL(database).searchParams.get('schema') ?? '';
    const first = POSTGRES_MIGRATIONS[0];
    if (!first) throw new Error('no migrations');
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      // A database installed by the release that had only migration 1, holding one finished task.
      await admin.query(`CREATE SCHEMA "${schema}"`);
      await admin.query(first.sql.replaceAll('{schema}', `"${schema}"`));
      await admin.query(
        `CREATE TABLE "${schema}".schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL);
         INSERT INTO "${schema}".schema_migrations VALUES (1, 'initial', 0);`,
      );
      await admin.query(
        `INSERT INTO "${schema}".tasks (id, namespace, name, version, status, context, correlation_id, created_at, updated_at)
         VALUES ('01900000-0000-7000-8000-000000000001', 'pgt', 'one', '1.0.0', 'complete', '{}', 'old-one', 1, 1)`,
      );
      await admin.query(
        `INSERT INTO "${schema}".transitions (task_id, step_name, from_state, to_state, at, attempt, reason, error_type)
         VALUES ('01900000-0000-7000-8000-000000000001', NULL, NULL, 'pending', 1, NULL, 'created', NULL),
                ('01900000-0000-7000-8000-000000000001', 'only', 'in_progress', 'error', 2, 1, 'no \\ "way"', 'Boom')`,
      );
      const err = await createTasker({ database, logger: false }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SCHEMA_VERSION_MISMATCH' });
      expect((err as Error).message).toMatch(
        /is at version 1; this tasker-engine needs 10\. Apply 002_task_revision, 003_task_list_indexes, 004_telemetry, 005_console, 006_triage, 007_task_fillfactor, 008_transition_log, 009_retention, 010_business_dimensions with: tasker db migrate/,
      );

      const { tasker } = await startEngine(ONE, { ok: () => 1 }, { database });
      expect((await tasker.getTask('01900000-0000-7000-8000-000000000001'))?.task.correlationId).toBe(
        'old-one',
      );
      const { task } = await tasker.createTask({ namespace: 'pgt', name: 'one' });
      expect((await tasker.waitForTask(task.id, { timeoutMs: 10_000 })).status).toBe('complete');
      // 007: task rows leave room on their page, so their mid-run updates can be HOT.
      const opts = await admin.query<{ reloptions: string[] | null }>(
        `SELECT reloptions FROM pg_class WHERE oid = '"${schema}".tasks'::regclass`,
      );
      expect(opts.rows[0]?.reloptions).toContain('fillfactor=75');
      // 008: the old task's transitions were moved into the transition log, unchanged and in order, and new
      // rows (the task just run) are numbered after them by the same sequence.
      expect(await tasker.getTransitions('01900000-0000-7000-8000-000000000001')).toEqual([
        {
          taskId: '01900000-0000-7000-8000-000000000001',
          stepName: null,
          fromState: null,
          toState: 'pending',
          at: 1,
          attempt: null,
          reason: 'created',
          errorType: null,
        },
        {
          taskId: '01900000-0000-7000-8000-000000000001',
          stepName: 'only',
          fromState: 'in_progress',
          toState: 'error',
          at: 2,
          attempt: 1,
          reason: 'no \\ "way"',
          errorType: 'Boom',
        },
      ]);
      const ids = await admin.query<{ old: string; fresh: string }>(
        `SELECT MAX(id) FILTER (WHERE task_id = '01900000-0000-7000-8000-000000000001') AS old,
                MIN(id) FILTER (WHERE task_id = $1) AS fresh FROM "${schema}".transition_log`,
        [task.id],
      );
      expect(Number(ids.rows[0]?.fresh)).toBeGreaterThan(Number(ids.rows[0]?.old));
      expect(
        (await tasker.getTransitions(task.id)).map((t) => `${t.stepName ?? 'task'}:${t.toState}`),
      ).toEqual(['task:pending', 'task:in_progress', 'only:in_progress', 'only:complete', 'task:complete']);
      // Packed by write: created; claimed (the task's and the step's); completed (the step's and the task's).
      const rows = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${schema}".transition_log WHERE task_id = $1`,
        [task.id],
      );
      expect(rows.rows[0]?.n).toBe(3);
      // A worker of the older release still running against this schema is refused: its write fails whole.
      await expect(
        admin.query(
          `INSERT INTO "${schema}".transitions (task_id, to_state, at) VALUES ('01900000-0000-7000-8000-000000000001', 'complete', 3)`,
        ),
      ).rejects.toThrow(/relation ".*\.transitions" does not exist/);
    } finally {
      await admin.end();
    }
  });

  it('refuses a schema written by a newer tasker-engine', async () => {
    const database = testDatabase();
    const store = await PostgresStore.open({ url: database, migrate: true });
    await store.close();
    const schema = new URL(database).searchParams.get('schema') ?? '';
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`INSERT INTO "${schema}".schema_migrations VALUES (999, 'from_the_future', 0)`);
    await admin.end();
    const err = await createTasker({ database, logger: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SCHEMA_VERSION_MISMATCH' });
    expect((err as Error).message).toMatch(
      new RegExp(
        `is at version 999, newer than this tasker-engine knows \\(${LATEST_POSTGRES_VERSION}\\); upgrade tasker-engine`,
      ),
    );
  });

  it('fails clearly when the server is down, naming host and port', async () => {
    const err = await createTasker({
      database: 'postgres://postgres@127.0.0.1:5499/test',
      logger: false,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect((err as Error).message).toMatch(
      /cannot reach PostgreSQL at 127\.0\.0\.1:5499\/test \(ECONNREFUSED/,
    );
  });
});

describe('several worker processes on PostgreSQL', () => {
  it('3 workers, one SIGKILLed mid-run and replaced: every task completes once, lost attempts are retried', async () => {
    const WORKER = join(import.meta.dirname, 'fixtures', 'dag-worker.mjs');
    const database = testDatabase();
    const log = join(tempDir(), 'log.txt');
    const TASKS = 2000;
    const DAG = `
namespace: mp
name: dag
version: 1.0.0
steps:
  - { name: a, handler: work }
  - { name: b, handler: work, depends_on: [a] }
  - { name: c, handler: work, depends_on: [a] }
  - { name: d, handler: work, depends_on: [b, c] }
  - { name: e, handler: work, depends_on: [d] }
`;
    const seed = await createTasker({
      database,
      templates: templatesFromYaml(DAG),
      logger: false,
      migrate: true,
    });
    await seed.createTasks(Array.from({ length: TASKS }, () => ({ namespace: 'mp', name: 'dag' })));
    const lines = () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .trim()
            .split('\n')
            .map((l) => l.split(' '))
        : [];
    const run = () => {
      const child = spawn(process.execPath, [WORKER, database, log], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      return { child, exited: new Promise<number | null>((r) => child.on('exit', (code) => r(code))) };
    };
    const workers = [run(), run(), run()];
    // Kill one once it has real work in flight.
    const victim = workers[0];
    for (let i = 0; i < 500; i++) {
      if (lines().filter((l) => l[0] === String(victim?.child.pid) && l[1] === 'start').length >= 200) break;
      await sleep(10);
    }
    victim?.child.kill('SIGKILL');
    expect(await victim?.exited).toBeNull();
    const replacement = run();
    const codes = await Promise.all([...workers.slice(1), replacement].map((w) => w.exited));
    expect(codes).toEqual([0, 0, 0]);

    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    let endedBy = new Map<string, string>();
    try {
      const schema = new URL(database).searchParams.get('schema') ?? '';
      const q = async (sql: string) =>
        (await admin.query(sql.replaceAll('{s}', `"${schema}"`))).rows as Array<Record<string, unknown>>;
      expect(await q('SELECT status, COUNT(*)::int AS n FROM {s}.tasks GROUP BY status')).toEqual([
        { status: 'complete', n: TASKS },
      ]);
      expect(
        await q(
          "SELECT step_id FROM {s}.step_attempts WHERE outcome = 'complete' GROUP BY step_id HAVING COUNT(*) > 1",
        ),
      ).toEqual([]);
      const lost = await q(
        "SELECT outcome, worker_id FROM {s}.step_attempts WHERE error_type = 'worker_lost'",
      );
      expect(lost.length).toBeGreaterThan(0);
      expect(
        lost.every((l) => l.outcome === 'retry' && String(l.worker_id).includes(`:${victim?.child.pid}:`)),
      ).toBe(true);
      // Which process committed each task's end: the one whose attempt completed its last step.
      endedBy = new Map(
        (
          await q(
            "SELECT a.task_id::text AS task_id, a.worker_id FROM {s}.step_attempts a JOIN {s}.steps s ON s.id = a.step_id WHERE s.name = 'e' AND a.outcome = 'complete'",
          )
        ).map((r) => [String(r.task_id), String(r.worker_id)]),
      );
    } finally {
      await admin.end();
      await seed.close();
    }
    const terminal = lines().filter((l) => l[1] === 'event');
    // Never twice. Exactly once for every task a surviving process ended; a task the victim ended in the
    // instant between its commit and the event's delivery has no event (docs/events.md, Guarantees
    // across crashes) but its end is committed, as checked above.
    const events = new Map<string, number>();
    for (const l of terminal) events.set(String(l[3]), (events.get(String(l[3])) ?? 0) + 1);
    expect([...events.values()].every((n) => n === 1)).toBe(true);
    const victimTag = `:${victim?.child.pid}:`;
    const survivorsEnded = [...endedBy].filter(([, w]) => !w.includes(victimTag)).map(([t]) => t);
    expect(endedBy.size).toBe(TASKS);
    expect(survivorsEnded.every((t) => events.has(t))).toBe(true);
    const missing = [...endedBy.keys()].filter((t) => !events.has(t));
    expect(missing.every((t) => endedBy.get(t)?.includes(victimTag))).toBe(true);
    expect(missing.length).toBeLessThan(TASKS / 10);
  }, 120_000);
});
