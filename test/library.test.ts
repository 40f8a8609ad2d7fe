/** Library surface details: bulk creation, class handlers, handler logs, schema version guard. */
import { Writable } from 'node:stream';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createTasker, type StepHandlerContext, type TaskTemplate } from '../src/index.js';
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
      ]);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, ?, 0)').run(
        'from the future',
      );
      db.close();
      const err = await createTasker({ database: `sqlite:${path}`, logger: false }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SCHEMA_VERSION_MISMATCH' });
      expect((err as Error).message).toMatch(/schema version 99, newer than this tasker-engine knows \(5\)/);
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
