/** Library surface details: bulk creation, class handlers, handler logs, schema version guard. */
import { Writable } from 'node:stream';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createTasker, type StepHandlerContext, type TaskTemplate } from '../src/index.js';
import { SQLITE_MIGRATIONS } from '../src/store/sqlite/migrations.js';
import { startEngine, storeKind, tempDir, templatesFromYaml } from './support/harness.js';

const yaml = `
namespace: lib
name: t
version: 1.0.0
context_schema: { type: object, required: [n], properties: { n: { type: integer } } }
steps:
  - { name: shape, handler: shaper }
  - { name: talk, handler: talker, depends_on: [shape] }
`;

class Shaper {
  process(ctx: StepHandlerContext) {
    return { raw: ctx.task.context.n, config: ctx.step.handlerConfig };
  }
  processResults(step: StepHandlerContext['step'], output: { raw: number }) {
    return { shaped: output.raw * 10, by: step.name };
  }
}

describe('library', () => {
  it('createTasks inserts a batch atomically: one invalid input creates nothing', async () => {
    const { tasker } = await startEngine(yaml, { shaper: Shaper, talker: () => 'hi' }, { start: false });
    const err = await tasker
      .createTasks([
        { namespace: 'lib', name: 't', context: { n: 1 } },
        { namespace: 'lib', name: 't', context: { n: 'two' } },
      ])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CONTEXT_INVALID' });
    expect((err as Error).message).toMatch(/^tasks\[1\]: context does not match/);
    expect((await tasker.listTasks({})).tasks).toHaveLength(0);
    const ok = await tasker.createTasks(
      Array.from({ length: 50 }, (_, n) => ({ namespace: 'lib', name: 't', context: { n } })),
    );
    expect(ok.every((r) => r.created)).toBe(true);
    expect((await tasker.listTasks({ limit: 100 })).tasks).toHaveLength(50);
  });

  it('runs class handlers and stores what processResults returns', async () => {
    const { tasker } = await startEngine(yaml, { shaper: Shaper, talker: () => 'hi' });
    const { task } = await tasker.createTask({ namespace: 'lib', name: 't', context: { n: 4 } });
    await tasker.waitForTask(task.id, { timeoutMs: 5000 });
    const d = await tasker.getTask(task.id);
    expect(d.steps[0]?.results).toEqual({ shaped: 40, by: 'shape' });
  });

  it("gives handlers a logger that carries the task's and step's identity", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().trim().split('\n'))
          lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const { tasker } = await startEngine(
      yaml,
      {
        shaper: Shaper,
        talker: ({ log }) => {
          log.info({ extra: 1 }, 'hello from talk');
          return 'hi';
        },
      },
      { logger: pino({ level: 'info' }, sink) },
    );
    const { task } = await tasker.createTask({
      namespace: 'lib',
      name: 't',
      context: { n: 1 },
      correlationId: 'journey-7',
    });
    await tasker.waitForTask(task.id, { timeoutMs: 5000 });
    const line = lines.find((l) => l.msg === 'hello from talk');
    expect(line).toMatchObject({
      task_id: task.id,
      correlation_id: 'journey-7',
      namespace: 'lib',
      task_name: 't',
      task_version: '1.0.0',
      step_name: 'talk',
      attempt: 1,
      extra: 1,
    });
  });

  it.skipIf(storeKind() !== 'sqlite')(
    'applies migrations on open and refuses a newer SQLite database',
    async () => {
      const path = join(tempDir(), 'v.db');
      const first = await createTasker({
        database: `sqlite:${path}`,
        logger: false,
        templates: templatesFromYaml(yaml),
      });
      await first.close();
      const db = new Database(path);
      expect(db.prepare('SELECT version, name FROM schema_migrations').all()).toEqual([
        { version: 1, name: 'initial' },
        { version: 2, name: 'task_list_indexes' },
        { version: 3, name: 'telemetry' },
        { version: 4, name: 'console' },
        { version: 5, name: 'triage' },
        { version: 6, name: 'transition_log' },
        { version: 7, name: 'retention' },
        { version: 8, name: 'business_dimensions' },
      ]);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, ?, 0)').run(
        'from the future',
      );
      db.close();
      const err = await createTasker({ database: `sqlite:${path}`, logger: false }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SCHEMA_VERSION_MISMATCH' });
      expect((err as Error).message).toMatch(/schema version 99, newer than this tasker-engine knows \(8\)/);
    },
  );

  it.skipIf(storeKind() !== 'sqlite')(
    "moves a database's transitions into the transition log on upgrade: same history, in order, old table gone",
    async () => {
      // A file as the release before the transition log left it, with a task part-way through.
      const path = join(tempDir(), 'old.db');
      const db = new Database(path);
      db.pragma('foreign_keys = OFF'); // transitions rows alone: their tasks are not what is tested
      db.exec(
        'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
      );
      for (const m of SQLITE_MIGRATIONS.filter((x) => x.version <= 5)) {
        db.exec(m.sql);
        db.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
      }
      const id = '01900000-0000-7000-8000-00000000000a';
      const insert = db.prepare(
        'INSERT INTO transitions (task_id, step_name, from_state, to_state, at, attempt, reason, error_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      );
      insert.run(id, null, null, 'pending', 10, null, 'created', null);
      insert.run('01900000-0000-7000-8000-00000000000b', null, null, 'pending', 11, null, 'created', null);
      insert.run(id, 'a', 'in_progress', 'waiting_for_retry', 12, 1, 'card "declined"', 'Timeout');
      db.close();

      const tasker = await createTasker({ database: `sqlite:${path}`, logger: false });
      try {
        expect(await tasker.getTransitions(id)).toEqual([
          {
            taskId: id,
            stepName: null,
            fromState: null,
            toState: 'pending',
            at: 10,
            attempt: null,
            reason: 'created',
            errorType: null,
          },
          {
            taskId: id,
            stepName: 'a',
            fromState: 'in_progress',
            toState: 'waiting_for_retry',
            at: 12,
            attempt: 1,
            reason: 'card "declined"',
            errorType: 'Timeout',
          },
        ]);
      } finally {
        await tasker.close();
      }
      const after = new Database(path);
      // New rows get ids above the copied ones, so a task's history stays in order across the move.
      after
        .prepare('INSERT INTO transition_log (task_id, entries) VALUES (?, ?)')
        .run(id, '[["a","waiting_for_retry","pending",13,1,null,null]]');
      // A process of the older release still writing here fails whole, and writes nothing.
      expect(() =>
        after
          .prepare('INSERT INTO transitions (task_id, to_state, at) VALUES (?, ?, ?)')
          .run(id, 'complete', 14),
      ).toThrow(/no such table: transitions/);
      after.close();
      const again = await createTasker({ database: `sqlite:${path}`, logger: false });
      try {
        expect((await again.getTransitions(id)).map((t) => `${t.at}:${t.toState}`)).toEqual([
          '10:pending',
          '12:waiting_for_retry',
          '13:pending',
        ]);
      } finally {
        await again.close();
      }
    },
  );

  it('validates options, naming the field', async () => {
    await expect(createTasker({ concurrency: 0, logger: false })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(
        /^concurrency: expected a positive integer up to 10000, got 0/,
      ) as string,
    });
    await expect(createTasker({ database: 'mysql://x', logger: false })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });
});

describe('the public surface clients use', () => {
  it('reads templates and handlers through the catalog, settings, and registers handlers', async () => {
    const { tasker } = await startEngine(yaml, { shaper: Shaper }, { start: false });
    expect(tasker.catalog.list().map((t) => `${t.namespace}/${t.name}@${t.version}`)).toEqual([
      'lib/t@1.0.0',
    ]);
    expect(tasker.catalog.get('lib', 't').steps.map((s) => s.name)).toEqual(['shape', 'talk']);
    expect(tasker.catalog.find('lib', 'nope')).toBeUndefined();
    expect(() => tasker.catalog.get('lib', 'nope')).toThrow(
      expect.objectContaining({ code: 'TEMPLATE_NOT_FOUND' }),
    );
    expect(tasker.catalog.namespaces()).toEqual(['lib']);
    expect(tasker.catalog.handlerNames()).toEqual(['shaper']);
    expect(tasker.missingHandlers()).toEqual(['talker']);
    const talk = tasker.catalog.get('lib', 't').steps[1];
    if (!talk) throw new Error('no step');
    expect(tasker.catalog.stepSlaSeconds(talk)).toBe(tasker.telemetry.slowStepThresholdMs / 1000);
    expect(tasker.settings).toMatchObject({
      correlationIdHeader: tasker.telemetry.correlationIdHeader,
      metricsEndpoint: '/tasker/metrics',
      storeLocation: tasker.store.location,
    });

    tasker.registerHandlers({ talker: () => 'hi' });
    expect(tasker.catalog.hasHandler('talker')).toBe(true);
    expect(tasker.missingHandlers()).toEqual([]);
    tasker.start();
    const { task } = await tasker.createTask({ namespace: 'lib', name: 't', context: { n: 2 } });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 5000 })).status).toBe('complete');
  });

  it('fails every operation with ENGINE_STOPPED once closed, as a rejection where it always was one', async () => {
    const { tasker } = await startEngine(yaml, { shaper: Shaper, talker: () => 'hi' }, { start: false });
    await tasker.close();
    expect(tasker.isClosed).toBe(true);
    await expect(tasker.createTask({ namespace: 'lib', name: 't', context: { n: 1 } })).rejects.toMatchObject(
      {
        code: 'ENGINE_STOPPED',
      },
    );
    await expect(tasker.retryTask('00000000-0000-7000-8000-000000000000')).rejects.toMatchObject({
      code: 'ENGINE_STOPPED',
    });
    await expect(tasker.failureGroups({ rangeMs: 1000 })).rejects.toMatchObject({ code: 'ENGINE_STOPPED' });
    expect(() => tasker.start()).toThrow(expect.objectContaining({ code: 'ENGINE_STOPPED' }));
    expect(() => tasker.runBulkJobs()).toThrow(expect.objectContaining({ code: 'ENGINE_STOPPED' }));
  });
});

describe('templates built in code', () => {
  it('get the YAML defaults for what a JavaScript caller leaves out, and run', async () => {
    const tasker = await createTasker({
      database: 'sqlite::memory:',
      logger: false,
      pollIntervalMs: 50,
      // What a JavaScript caller writes: no handlerConfig, dependsOn or retry.
      templates: [
        {
          namespace: 'js',
          name: 'plain',
          version: '1.0.0',
          steps: [
            { name: 'a', handler: 'a' },
            { name: 'b', handler: 'a', dependsOn: ['a'] },
          ],
        } as unknown as TaskTemplate,
      ],
      handlers: { a: () => ({ ok: true }) },
    });
    try {
      const [t] = tasker.templates.list();
      expect(t?.steps[0]).toMatchObject({
        handlerConfig: {},
        dependsOn: [],
        retry: { retryable: true, maxAttempts: 3 },
      });
      tasker.start();
      const { task } = await tasker.createTask({ namespace: 'js', name: 'plain' });
      expect((await tasker.waitForTask(task.id, { timeoutMs: 10_000, pollMs: 20 })).status).toBe('complete');
    } finally {
      await tasker.close();
    }
  });

  it('are refused with TEMPLATE_INVALID naming what is wrong, instead of failing at insert', async () => {
    const err = await createTasker({
      database: 'sqlite::memory:',
      logger: false,
      templates: [
        {
          namespace: 'js',
          name: 'broken',
          version: '1.0.0',
          steps: [{ name: 'a' }, { name: 'b', handler: 'h', handlerConfig: 'x' }],
        } as unknown as TaskTemplate,
      ],
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TEMPLATE_INVALID' });
    expect((err as Error).message).toContain('step `a`: no handler');
    expect((err as Error).message).toContain('step `b`: handlerConfig is not an object');
  });
});
