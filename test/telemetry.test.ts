/**
 * The telemetry layer end to end (SQLite): a canary secret in the task context never leaves the engine
 * (logs, OTLP export, subscribers, HTTP API, CLI) while handlers still see it; event sampling per task,
 * all-or-nothing, with exact metrics; filtered events; slow-step and memory monitoring; the `telemetry`
 * option block's validation (library and config file); invalid correlation ids replaced and logged.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { context, propagation, trace } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildServer } from '../src/api/server.js';
import { sampleKey } from '../src/events/bus.js';
import { SAMPLEABLE_EVENTS } from '../src/events/catalog.js';
import {
  PermanentError,
  TaskerError,
  createTasker,
  type StepHandlerContext,
  type TaskerEvent,
  type TaskerOptions,
} from '../src/index.js';
import { setupTracing, type TracingSetup } from '../src/telemetry/sdk.js';
import { startOtlpReceiver, type OtlpReceiver } from './support/otlp-receiver.js';
import { FAST_RETRY, sleep, startEngine, tempDir } from './support/harness.js';
import { capturingLogger, family, type LogLine } from './support/logs.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'tasker.js');

// ---------------------------------------------------------------------------------------------------------
// Helpers

const eventOf = (l: LogLine): string => (typeof l.event === 'string' ? l.event : '');

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/** The real CLI as a child process (bin/tasker.js → dist/): exit code and every byte it printed. */
function runCli(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, TASKER_LOG_LEVEL: 'debug', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function waitAll(
  tasker: { waitForTask(id: string, o: { timeoutMs: number; pollMs: number }): Promise<unknown> },
  ids: string[],
) {
  for (const id of ids) await tasker.waitForTask(id, { timeoutMs: 10_000, pollMs: 20 });
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

// ---------------------------------------------------------------------------------------------------------
// 1. Redaction canary

const VAULT = `
namespace: vault
name: checkout
version: 1.0.0
steps:
  - { name: charge, handler: charge }
  - name: settle
    handler: settle
    depends_on: [charge]
    retry: { retryable: false }
`;

const CANARY_CONTEXT = {
  order: {
    credit_card: '4111-CANARY-1111-1111',
    items: [{ sku: 'MUG', password: 'pw-CANARY-2' }],
  },
  customer: { token: 'tok-CANARY-3', name: 'Ada' },
  note: 'ok',
};

interface OrderContext {
  order: { credit_card: string; items: Array<{ password: string }> };
  customer: { token: string };
}

describe('redaction: a canary secret in the context never leaves the engine', () => {
  let receiver: OtlpReceiver;
  let setup: TracingSetup;
  const seen = {
    taskId: '',
    logRaw: [] as string[],
    logLines: [] as LogLine[],
    delivered: [] as string[],
    deliveredEvents: [] as TaskerEvent[],
    api: [] as Array<{ what: string; status: number; body: string }>,
    cli: [] as Array<{ what: string; code: number | null; stdout: string; stderr: string }>,
    handlerSaw: [] as string[],
    storedContext: undefined as unknown,
    storedError: undefined as string | null | undefined,
  };

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const s = setupTracing({
      serviceName: 'telemetry-test',
      endpoint: receiver.url,
    });
    if (!s) throw new Error('setupTracing refused');
    setup = s;

    const { logger, raw, lines } = capturingLogger('debug');
    seen.logRaw = raw;
    seen.logLines = lines;
    const { tasker, database } = await startEngine(
      VAULT,
      {
        charge: (ctx: StepHandlerContext) => {
          const c = ctx.task.context as unknown as OrderContext;
          seen.handlerSaw.push(c.order.credit_card, c.order.items[0]?.password ?? '', c.customer.token);
          ctx.log.info({ card: c.order.credit_card, password: 'x' }, 'charging');
          ctx.emit('order.charged', { credit_card: c.order.credit_card, amount: 10 });
          return { charged: true };
        },
        settle: (ctx: StepHandlerContext) => {
          const c = ctx.task.context as unknown as OrderContext;
          throw new PermanentError(`card ${c.order.credit_card} declined`);
        },
      },
      { telemetry: { enabled: true }, logger },
    );
    tasker.subscribe(
      '*',
      (e) => {
        seen.deliveredEvents.push(e);
        seen.delivered.push(JSON.stringify(e));
      },
      { name: 'canary-recorder' },
    );
    const app = await buildServer(tasker, { processMetrics: false });
    apps.push(app);

    const created = await app.inject({
      method: 'POST',
      url: '/tasker/tasks',
      payload: { namespace: 'vault', name: 'checkout', context: CANARY_CONTEXT },
    });
    seen.api.push({ what: 'POST /tasks', status: created.statusCode, body: created.body });
    const id = created.json<{ id: string }>().id;
    seen.taskId = id;
    await tasker.waitForTask(id, { timeoutMs: 10_000, pollMs: 20 });
    await tasker.events.drain();
    await setup.flush();

    for (const url of [
      `/tasker/tasks/${id}?include_dependencies=true`,
      `/tasker/tasks/${id}?include_dependencies=true&include_business_metrics=true`,
      `/tasker/tasks?namespace=vault`,
      `/tasker/tasks?namespace=vault&include_dependencies=true`,
      `/tasker/tasks/${id}/transitions`,
      '/tasker/metrics',
    ]) {
      const r = await app.inject({ url });
      seen.api.push({ what: `GET ${url}`, status: r.statusCode, body: r.body });
    }
    const details = await tasker.getTask(id);
    seen.storedContext = details.task.context;
    seen.storedError = details.steps.find((st) => st.name === 'settle')?.errorMessage;

    await app.close();
    await tasker.close();
    const db = database.replace(/^sqlite:/, '');
    const cwd = tempDir();
    for (const args of [
      ['show', id, '--json'],
      ['show', id],
      ['tasks', '--namespace', 'vault', '--json'],
    ]) {
      const r = await runCli([...args, '--db', `sqlite:${db}`], cwd);
      seen.cli.push({ what: args.join(' '), ...r });
    }
  });

  afterAll(async () => {
    await setup.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
    await receiver.close();
  });

  it('the handlers received the real secrets, and the store keeps them intact', () => {
    expect(seen.handlerSaw).toEqual(['4111-CANARY-1111-1111', 'pw-CANARY-2', 'tok-CANARY-3']);
    expect(seen.storedContext).toEqual(CANARY_CONTEXT);
    // The failure message echoed the card number: stored masked, the rest of the text kept.
    expect(seen.storedError).toBe('card [FILTERED] declined');
  });

  it('log lines: none carries the canary; the engine’s lines are there and masked', () => {
    const all = seen.logRaw.join('');
    const mine = seen.logLines.filter((l) => l.task_id === seen.taskId);
    // The lifecycle lines were written (so the check below is not vacuous) …
    expect(mine.map((l) => l.event)).toEqual(
      expect.arrayContaining([
        'task.created',
        'step.started',
        'step.completed',
        'step.failed',
        'task.failed',
      ]),
    );
    const failed = mine.find((l) => l.event === 'step.failed');
    expect(failed).toMatchObject({ level: 50, step_name: 'settle', error_type: 'PermanentError' });
    expect(failed?.error_message).toBe('card [FILTERED] declined');
    // … and the handler's own line, its sensitive key masked.
    const charging = mine.find((l) => l.msg === 'charging');
    expect(charging).toMatchObject({ password: '[FILTERED]', step_name: 'charge' });
    expect(all).not.toContain('CANARY');
  });

  it('log lines: a handler logging a secret value under an innocent key has it masked', () => {
    const charging = seen.logLines.find((l) => l.task_id === seen.taskId && l.msg === 'charging');
    expect(charging).toBeDefined();
    expect(charging?.card).toBe('[FILTERED]');
    expect(seen.logRaw.join('')).not.toContain('CANARY');
  });

  it('OTLP export: no request body carries the canary; the failure is exported masked', () => {
    const spans = receiver.spans.filter((s) => s.attributes['tasker.task.id'] === seen.taskId);
    expect(spans.map((s) => s.name).sort()).toEqual(['step charge', 'step settle', 'task vault.checkout']);
    const settle = spans.find((s) => s.name === 'step settle');
    expect(settle?.status).toEqual({ code: 2, message: 'card [FILTERED] declined' });
    expect(settle?.events.find((e) => e.name === 'exception')?.attributes['exception.message']).toBe(
      'card [FILTERED] declined',
    );
    expect(receiver.bodies.length).toBeGreaterThan(0);
    for (const body of receiver.bodies) expect(body).not.toContain('CANARY');
  });

  it('subscribers: no delivered payload carries the canary; context and custom payloads masked', () => {
    expect(seen.delivered.length).toBeGreaterThan(0);
    for (const d of seen.delivered) expect(d).not.toContain('CANARY');
    const custom = seen.deliveredEvents.find((e) => e.name === 'order.charged');
    expect((custom?.payload as { payload?: unknown } | undefined)?.payload).toEqual({
      credit_card: '[FILTERED]',
      amount: 10,
    });
    const failedTask = seen.deliveredEvents.find((e) => e.name === 'task.failed');
    expect((failedTask?.payload as { context?: unknown }).context).toEqual({
      order: { credit_card: '[FILTERED]', items: [{ sku: 'MUG', password: '[FILTERED]' }] },
      customer: { token: '[FILTERED]', name: 'Ada' },
      note: 'ok',
    });
    const stepFailed = seen.deliveredEvents.find((e) => e.name === 'step.failed');
    expect((stepFailed?.payload as { error_message?: string }).error_message).toBe(
      'card [FILTERED] declined',
    );
  });

  it('HTTP API: no response carries the canary; the non-secret parts are shown', () => {
    expect(seen.api.map((r) => [r.what, r.status])).toEqual([
      ['POST /tasks', 201],
      [`GET /tasker/tasks/${seen.taskId}?include_dependencies=true`, 200],
      [`GET /tasker/tasks/${seen.taskId}?include_dependencies=true&include_business_metrics=true`, 200],
      ['GET /tasker/tasks?namespace=vault', 200],
      ['GET /tasker/tasks?namespace=vault&include_dependencies=true', 200],
      [`GET /tasker/tasks/${seen.taskId}/transitions`, 200],
      ['GET /tasker/metrics', 200],
    ]);
    for (const r of seen.api) expect(r.body, r.what).not.toContain('CANARY');
    const detail = JSON.parse(seen.api[1]?.body ?? '{}') as {
      context: Record<string, unknown>;
      steps: Array<{ name: string; error_message: string | null }>;
      dependencies: { analysis: string };
    };
    expect(detail.context).toEqual({
      order: { credit_card: '[FILTERED]', items: [{ sku: 'MUG', password: '[FILTERED]' }] },
      customer: { token: '[FILTERED]', name: 'Ada' },
      note: 'ok',
    });
    expect(detail.steps.find((s) => s.name === 'settle')?.error_message).toBe('card [FILTERED] declined');
    expect(detail.dependencies.analysis).toMatch(/settle/);
    const list = JSON.parse(seen.api[3]?.body ?? '{}') as { tasks: Array<{ id: string; status: string }> };
    expect(list.tasks.map((t) => [t.id, t.status])).toEqual([[seen.taskId, 'failed']]);
  });

  it('CLI (tasker show, tasker show --json): the error text is shown masked and ok', () => {
    for (const r of seen.cli) expect(r.code, `${r.what}: ${r.stderr}`).toBe(0);
    const [json, tree] = seen.cli;
    expect(json?.stdout).toContain('card [FILTERED] declined');
    expect(json?.stdout).toContain('"note": "ok"');
    expect(tree?.stdout).toMatch(/settle.*PermanentError: card \[FILTERED\] declined/);
    expect(tree?.stdout + (tree?.stderr ?? '')).not.toContain('CANARY');
  });

  it('CLI --json output does not carry the canary', () => {
    expect(seen.cli.length).toBe(3);
    for (const r of seen.cli) {
      expect(r.code, r.what).toBe(0);
      expect(r.stdout + r.stderr, r.what).not.toContain('CANARY');
    }
    expect(seen.cli[0]?.stdout).toContain('"credit_card": "[FILTERED]"');
  });
});

describe('telemetry.filterParameters / filterMask', () => {
  it('replace the default sensitive keys and mask everywhere the engine shows the context', async () => {
    const { logger, raw } = capturingLogger('debug');
    const { tasker, events } = await startEngine(
      `
namespace: bank
name: transfer
version: 1.0.0
steps:
  - { name: send, handler: send, retry: { retryable: false } }
`,
      {
        send: (ctx: StepHandlerContext) => {
          throw new Error(`iban ${String(ctx.task.context.iban)} rejected`);
        },
      },
      { logger, telemetry: { filterParameters: ['iban'], filterMask: '***' } },
    );
    const app = await buildServer(tasker, { processMetrics: false });
    apps.push(app);
    const { task } = await tasker.createTask({
      namespace: 'bank',
      name: 'transfer',
      context: { iban: 'DE-CANARY-0000', password: 'not-a-secret-here' },
    });
    await tasker.waitForTask(task.id, { timeoutMs: 10_000, pollMs: 20 });
    await tasker.events.drain();
    const failed = events.find((e) => e.name === 'task.failed');
    expect((failed?.payload as { context?: unknown }).context).toEqual({
      iban: '***',
      password: 'not-a-secret-here',
    });
    const stepFailed = events.find((e) => e.name === 'step.failed');
    expect((stepFailed?.payload as { error_message?: string }).error_message).toBe('iban *** rejected');
    const detail = await app.inject({ url: `/tasker/tasks/${task.id}` });
    expect(detail.json()).toMatchObject({ context: { iban: '***', password: 'not-a-secret-here' } });
    for (const text of [raw.join(''), detail.body, JSON.stringify(events)]) {
      expect(text).toContain('iban *** rejected');
      expect(text).not.toContain('CANARY');
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// 2. Event sampling

const ONE_STEP = `
namespace: bulk
name: one
version: 1.0.0
steps:
  - name: work
    handler: work
    ${FAST_RETRY}
`;

describe('event sampling', () => {
  it('withholds a task’s high-volume events all-or-nothing by task id; failures, retries and ends always reach subscribers; metrics stay exact', async () => {
    const RATE = 0.5;
    const N = 200;
    const { logger, lines } = capturingLogger('debug');
    let failId = '';
    let flakyId = '';
    const { tasker, events } = await startEngine(
      ONE_STEP,
      {
        work: (ctx: StepHandlerContext) => {
          if (ctx.task.id === failId) throw new PermanentError('rejected');
          if (ctx.task.id === flakyId && ctx.step.attempt === 1) throw new TypeError('flaky');
          return { ok: true };
        },
      },
      {
        start: false,
        logger,
        concurrency: 50,
        sqliteSynchronous: 'normal',
        telemetry: { eventSamplingRate: RATE },
      },
    );
    tasker.enableMetrics();
    // Ground truth: every committed event (an exact subscription is never sampled).
    const truth: TaskerEvent[] = [];
    tasker.events.subscribe('*', (e) => void truth.push(e), { name: 'truth', exact: true });

    const made = await tasker.createTasks(
      Array.from({ length: N }, (_, i) => ({ namespace: 'bulk', name: 'one', context: { i } })),
    );
    const ids = made.map((m) => m.task.id);
    const inSample = (id: string) => sampleKey(id) < RATE;
    const sampledIn = new Set(ids.filter(inSample));
    // The failing and the retrying task are sampled out: their failure and retry must still arrive.
    const out = ids.filter((id) => !inSample(id));
    failId = out[0] ?? '';
    flakyId = out[1] ?? '';
    expect(failId).not.toBe('');
    expect(flakyId).not.toBe('');
    // A real split, not all or nothing.
    expect(sampledIn.size).toBeGreaterThan(N * 0.3);
    expect(sampledIn.size).toBeLessThan(N * 0.7);

    tasker.start();
    await waitAll(tasker, ids);
    await tasker.events.drain();

    const byTask = (list: TaskerEvent[], id: string) => list.filter((e) => e.payload.task_id === id);
    const names = (list: TaskerEvent[]) => list.map((e) => e.name);

    // Every task.completed / task.failed reaches the subscriber, whatever the sampling.
    const ends = events.filter((e) => e.name === 'task.completed' || e.name === 'task.failed');
    expect(ends).toHaveLength(N);
    expect(new Set(ends.map((e) => e.payload.task_id))).toEqual(new Set(ids));
    expect(ends.filter((e) => e.name === 'task.failed').map((e) => e.payload.task_id)).toEqual([failId]);
    // Failures and retries always.
    expect(names(byTask(events, failId))).toEqual(['step.failed', 'task.failed']);
    expect(names(byTask(events, flakyId))).toEqual(['step.retry_scheduled', 'task.completed']);

    // A plain task's whole story when sampled in; only its end when sampled out.
    const plainIn = ids.find((id) => sampledIn.has(id));
    const plainOut = out[2];
    expect(names(byTask(events, plainIn ?? ''))).toEqual([
      'task.created',
      'task.started',
      'step.started',
      'step.completed',
      'task.completed',
    ]);
    expect(names(byTask(events, plainOut ?? ''))).toEqual(['task.completed']);

    // Per task: its sampleable events all arrive (sampled in) or none does (sampled out), exactly as
    // sampleKey predicts; the committed stream had them either way.
    let withheld = 0;
    const withheldByName = new Map<string, number>();
    for (const id of ids) {
      const committed = byTask(truth, id);
      const got = byTask(events, id);
      const sampleable = committed.filter((e) => SAMPLEABLE_EVENTS.has(e.name));
      expect(sampleable.map((e) => e.name)).toEqual(
        expect.arrayContaining(['task.created', 'task.started', 'step.started']),
      );
      if (sampledIn.has(id)) {
        expect(names(got)).toEqual(names(committed));
      } else {
        expect(got.some((e) => SAMPLEABLE_EVENTS.has(e.name))).toBe(false);
        expect(names(got)).toEqual(names(committed.filter((e) => !SAMPLEABLE_EVENTS.has(e.name))));
        withheld += sampleable.length;
        for (const e of sampleable) withheldByName.set(e.name, (withheldByName.get(e.name) ?? 0) + 1);
      }
    }
    expect(events.filter((e) => e.name === 'step.started')).toHaveLength(
      truth.filter((e) => e.name === 'step.started' && sampledIn.has(e.payload.task_id ?? '')).length,
    );
    expect(withheld).toBe(truth.length - events.length);

    // The log is an ordinary subscriber: the same sampling.
    const startedLogged = new Set(lines.filter((l) => l.event === 'step.started').map((l) => l.task_id));
    expect(startedLogged).toEqual(sampledIn);
    expect(lines.filter((l) => l.event === 'task.completed')).toHaveLength(N - 1);

    const text = await tasker.metrics.metrics();
    const sampledOut = family(text, 'tasker_events_sampled_out_total');
    expect(sum(sampledOut)).toBe(withheld);
    for (const [name, n] of withheldByName) expect(sampledOut.get(`{event="${name}"}`), name).toBe(n);
    // Metrics count every step, sampled or not.
    const steps = family(text, 'tasker_steps_total');
    expect(steps.get('{namespace="bulk",name="one",step="work",status="completed"}')).toBe(N - 1);
    expect(steps.get('{namespace="bulk",name="one",step="work",status="failed"}')).toBe(1);
    expect(steps.get('{namespace="bulk",name="one",step="work",status="retried"}')).toBe(1);
    const tasks = family(text, 'tasker_tasks_total');
    expect(tasks.get('{namespace="bulk",name="one",version="1.0.0",status="completed"}')).toBe(N - 1);
    expect(tasks.get('{namespace="bulk",name="one",version="1.0.0",status="failed"}')).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------------------
// 3. Filtered events

describe('filtered events', () => {
  it('step.* never reaches subscribers or the log; task events do; metrics still count the steps', async () => {
    const { logger, lines } = capturingLogger('debug');
    let calls = 0;
    const { tasker, events } = await startEngine(
      ONE_STEP,
      {
        work: (ctx: StepHandlerContext) => {
          if (ctx.task.context.fail === true) throw new PermanentError('rejected');
          if (ctx.task.context.flaky === true && ++calls === 1) throw new TypeError('flaky');
          return { ok: true };
        },
      },
      { logger, telemetry: { filteredEvents: ['step.*'] } },
    );
    tasker.enableMetrics();
    const truth: TaskerEvent[] = [];
    tasker.events.subscribe('*', (e) => void truth.push(e), { name: 'truth', exact: true });
    const made = await tasker.createTasks([
      { namespace: 'bulk', name: 'one', context: {} },
      { namespace: 'bulk', name: 'one', context: { flaky: true } },
      { namespace: 'bulk', name: 'one', context: { fail: true } },
    ]);
    const ids = made.map((m) => m.task.id);
    await waitAll(tasker, ids);
    await tasker.events.drain();

    // The steps did run and emit (the committed stream has them) …
    const stepEvents = truth.filter((e) => e.name.startsWith('step.'));
    expect(new Set(stepEvents.map((e) => e.name))).toEqual(
      new Set(['step.started', 'step.completed', 'step.retry_scheduled', 'step.failed']),
    );
    // … but no subscriber and no log line saw one.
    expect(events.filter((e) => e.name.startsWith('step.'))).toEqual([]);
    expect(lines.filter((l) => eventOf(l).startsWith('step.'))).toEqual([]);
    // Task events do arrive, in the subscriber and the log.
    for (const id of ids) {
      const mine = events.filter((e) => e.payload.task_id === id).map((e) => e.name);
      expect(mine).toEqual(
        expect.arrayContaining([
          'task.created',
          'task.started',
          id === ids[2] ? 'task.failed' : 'task.completed',
        ]),
      );
    }
    expect(lines.filter((l) => l.event === 'task.completed').map((l) => l.task_id)).toEqual(
      expect.arrayContaining([ids[0], ids[1]]),
    );
    expect(lines.find((l) => l.event === 'task.failed')?.task_id).toBe(ids[2]);

    const text = await tasker.metrics.metrics();
    const steps = family(text, 'tasker_steps_total');
    expect(steps.get('{namespace="bulk",name="one",step="work",status="completed"}')).toBe(2);
    expect(steps.get('{namespace="bulk",name="one",step="work",status="retried"}')).toBe(1);
    expect(steps.get('{namespace="bulk",name="one",step="work",status="failed"}')).toBe(1);
    const withheld = family(text, 'tasker_events_sampled_out_total');
    expect(sum(withheld)).toBe(stepEvents.length);
    expect(withheld.get('{event="step.started"}')).toBe(4);
  });
});

// ---------------------------------------------------------------------------------------------------------
// 4. Slow steps

const PERF = `
namespace: perf
name: mixed
version: 1.0.0
steps:
  - { name: with_sla, handler: slow120, sla_seconds: 0.05 }
  - name: monitored
    handler: slow60
    depends_on: [with_sla]
    handler_config: { monitoring: { sla_seconds: 0.02 } }
  - { name: quick, handler: quick, depends_on: [monitored] }
`;

const PERF_HANDLERS = {
  slow120: async () => {
    await sleep(120);
    return 1;
  },
  slow60: async () => {
    await sleep(60);
    return 2;
  },
  quick: () => 3,
};

describe('slow-step monitoring', () => {
  it('emits observability.step.slow with the threshold that applied, logs a warning, counts per step', async () => {
    const { logger, lines } = capturingLogger('info');
    const { tasker, events } = await startEngine(PERF, PERF_HANDLERS, {
      logger,
      telemetry: { slowStepThresholdSeconds: 5 },
    });
    tasker.enableMetrics();
    const { task } = await tasker.createTask({ namespace: 'perf', name: 'mixed' });
    const done = await tasker.waitForTask(task.id, { timeoutMs: 10_000, pollMs: 20 });
    expect(done.status).toBe('complete');
    await tasker.events.drain();

    const slow = events.filter((e) => e.name === 'observability.step.slow');
    expect(slow.map((e) => e.payload)).toEqual([
      expect.objectContaining({
        task_id: task.id,
        step_name: 'with_sla',
        attempt: 1,
        threshold_seconds: 0.05,
        threshold_source: 'sla_seconds',
      }),
      expect.objectContaining({
        task_id: task.id,
        step_name: 'monitored',
        attempt: 1,
        threshold_seconds: 0.02,
        threshold_source: 'handler_config.monitoring.sla_seconds',
      }),
    ]);
    for (const e of slow) {
      const p = e.payload as { execution_duration_seconds: number; threshold_seconds: number };
      expect(p.execution_duration_seconds).toBeGreaterThan(p.threshold_seconds);
    }
    const warned = lines.filter((l) => l.event === 'observability.step.slow');
    expect(warned.map((l) => [l.level, l.step_name, l.threshold_source, l.task_id])).toEqual([
      [40, 'with_sla', 'sla_seconds', task.id],
      [40, 'monitored', 'handler_config.monitoring.sla_seconds', task.id],
    ]);
    // Every step has its series from the start (0 until it is slow).
    expect(family(await tasker.metrics.metrics(), 'tasker_step_slow_total')).toEqual(
      new Map([
        ['{namespace="perf",name="mixed",step="with_sla"}', 1],
        ['{namespace="perf",name="mixed",step="monitored"}', 1],
        ['{namespace="perf",name="mixed",step="quick"}', 0],
      ]),
    );
  });

  it('falls back to telemetry.slow_step_threshold_seconds for a step without its own threshold', async () => {
    const { tasker, events } = await startEngine(
      `
namespace: perf
name: plain
version: 1.0.0
steps:
  - { name: sluggish, handler: slow60 }
`,
      PERF_HANDLERS,
      { telemetry: { slow_step_threshold_seconds: 0.02 } as TaskerOptions['telemetry'] },
    );
    const { task } = await tasker.createTask({ namespace: 'perf', name: 'plain' });
    await tasker.waitForTask(task.id, { timeoutMs: 10_000, pollMs: 20 });
    await tasker.events.drain();
    expect(events.filter((e) => e.name === 'observability.step.slow').map((e) => e.payload)).toEqual([
      expect.objectContaining({
        step_name: 'sluggish',
        threshold_seconds: 0.02,
        threshold_source: 'telemetry.slow_step_threshold_seconds',
      }),
    ]);
  });

  it('emits nothing with performanceMonitoringEnabled: false', async () => {
    const { logger, lines } = capturingLogger('info');
    const { tasker, events } = await startEngine(PERF, PERF_HANDLERS, {
      logger,
      telemetry: { performanceMonitoringEnabled: false, memoryThresholdMb: 1 },
    });
    tasker.enableMetrics();
    const { task } = await tasker.createTask({ namespace: 'perf', name: 'mixed' });
    await tasker.waitForTask(task.id, { timeoutMs: 10_000, pollMs: 20 });
    await tasker.events.drain();
    expect(events.filter((e) => e.name.startsWith('observability.'))).toEqual([]);
    expect(lines.filter((l) => eventOf(l).startsWith('observability.'))).toEqual([]);
    expect(events.map((e) => e.name)).toContain('task.completed');
    const slow = family(await tasker.metrics.metrics(), 'tasker_step_slow_total');
    expect([...slow.values()].every((v) => v === 0)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------
// 5. Memory

const TINY = `
namespace: mem
name: tiny
version: 1.0.0
steps:
  - { name: only, handler: only }
`;

describe('memory monitoring', () => {
  it('emits observability.memory.high shortly after start when resident memory is above the threshold', async () => {
    const { logger, lines } = capturingLogger('info');
    const { events } = await startEngine(
      TINY,
      { only: () => 1 },
      { logger, telemetry: { memoryThresholdMb: 1 } },
    );
    for (let i = 0; i < 50 && !events.some((e) => e.name === 'observability.memory.high'); i++)
      await sleep(20);
    const high = events.filter((e) => e.name === 'observability.memory.high');
    expect(high).toHaveLength(1);
    const p = high[0]?.payload as { rss_mb: number; threshold_mb: number; heap_used_mb: number };
    expect(p.threshold_mb).toBe(1);
    expect(p.rss_mb).toBeGreaterThan(p.threshold_mb);
    expect(p.heap_used_mb).toBeGreaterThan(0);
    const warned = lines.filter((l) => l.event === 'observability.memory.high');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 40, threshold_mb: 1 });
  });

  /**
   * The periodic check (every 10 s, an event at most once a minute), with the interval and the clock
   * faked so minutes pass at once. No worker runs (start: false), so nothing else depends on those timers.
   */
  async function memoryEventsOver(thresholdMb: number, ms: number) {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    try {
      const { logger, lines } = capturingLogger('info');
      const { tasker, events } = await startEngine(
        TINY,
        { only: () => 1 },
        { start: false, logger, telemetry: { memoryThresholdMb: thresholdMb } },
      );
      vi.advanceTimersByTime(ms);
      await tasker.events.drain();
      return {
        high: events.filter((e) => e.name === 'observability.memory.high'),
        warned: lines.filter((l) => l.event === 'observability.memory.high'),
      };
    } finally {
      vi.useRealTimers();
    }
  }

  it('the periodic check emits it (at most once a minute) with a warn log line', async () => {
    const { high, warned } = await memoryEventsOver(1, 150_000);
    // Checks every 10 s for 150 s, an event at most once a minute: 2 (3 once the start-up one arrives).
    expect(high.length).toBeGreaterThanOrEqual(2);
    expect(high.length).toBeLessThanOrEqual(3);
    for (const e of high) {
      const p = e.payload as { rss_mb: number; threshold_mb: number; heap_used_mb: number; task_id?: string };
      expect(p.threshold_mb).toBe(1);
      expect(p.rss_mb).toBeGreaterThan(1);
      expect(p.heap_used_mb).toBeGreaterThan(0);
      expect(p.task_id).toBeUndefined();
    }
    const at = high.map((e) => Date.parse((e.payload as { timestamp: string }).timestamp));
    for (let i = 1; i < at.length; i++) {
      expect((at[i] ?? 0) - (at[i - 1] ?? 0)).toBeGreaterThanOrEqual(60_000);
      expect((at[i] ?? 0) - (at[i - 1] ?? 0)).toBeLessThanOrEqual(70_000);
    }
    expect(warned).toHaveLength(high.length);
    expect(warned[0]).toMatchObject({ level: 40, threshold_mb: 1 });
    expect(warned[0]?.msg).toMatch(/^resident memory [\d.]+ MB is above 1 MB$/);
  });

  it('emits nothing while resident memory stays under the threshold', async () => {
    const { high, warned } = await memoryEventsOver(1_048_576, 150_000);
    expect(high).toEqual([]);
    expect(warned).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// 6. Configuration validation

describe('telemetry configuration is validated', () => {
  const cases: Array<[string, Record<string, unknown>, string, string]> = [
    ['eventSamplingRate 2', { eventSamplingRate: 2 }, 'telemetry.event_sampling_rate', 'got 2'],
    ['logFormat xml', { logFormat: 'xml' }, 'telemetry.log_format', 'got "xml"'],
    [
      'prometheus.endpoint ftp',
      { prometheus: { endpoint: 'ftp://x' } },
      'telemetry.prometheus.endpoint',
      '"ftp://x"',
    ],
    [
      'slow_step_threshold_seconds -1',
      { slow_step_threshold_seconds: -1 },
      'telemetry.slow_step_threshold_seconds',
      'got -1',
    ],
    ['filtered_events not a list', { filtered_events: 'step.*' }, 'telemetry.filtered_events', '"step.*"'],
    ['memoryThresholdMb 0', { memoryThresholdMb: 0 }, 'telemetry.memory_threshold_mb', 'got 0'],
    ['enabled "yes"', { enabled: 'yes' }, 'telemetry.enabled', '"yes"'],
    // Checked even while pushing is off, so a bad value does not wait for the day it is turned on.
    [
      'prometheus.job_timeout "5m" without an endpoint',
      { prometheus: { job_timeout: '5m' } },
      'telemetry.prometheus.job_timeout',
      '"5m"',
    ],
    [
      'a Pushgateway with metrics off',
      { metricsEnabled: false, prometheus: { endpoint: 'http://user:s3cret@gw:9091' } },
      'telemetry.prometheus.endpoint',
      '"http://***@gw:9091"',
    ],
    [
      'OpenMetrics with a Pushgateway',
      { metricsFormat: 'openmetrics', prometheus: { endpoint: 'http://gw:9091' } },
      'telemetry.metrics_format',
      '"openmetrics"',
    ],
  ];
  for (const [label, telemetry, field, value] of cases) {
    it(`refuses ${label} with CONFIG_INVALID naming ${field}`, async () => {
      const err = await createTasker({
        database: 'sqlite::memory:',
        logger: false,
        telemetry,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TaskerError);
      const e = err as TaskerError;
      expect(e.code).toBe('CONFIG_INVALID');
      expect(e.message).toContain(field);
      expect(e.message).toContain(value);
      expect(e.details.field).toBe(field);
      expect(e.message).not.toContain('s3cret');
    });
  }

  it('refuses an unknown key, naming it and listing the known ones', async () => {
    const err = (await createTasker({
      database: 'sqlite::memory:',
      logger: false,
      telemetry: { sampling_rate: 0.5 } as TaskerOptions['telemetry'],
    }).catch((e: unknown) => e)) as TaskerError;
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/^telemetry\.sampling_rate: unknown setting/);
    expect(err.message).toContain('event_sampling_rate');
    const typo = (await createTasker({
      database: 'sqlite::memory:',
      logger: false,
      telemetry: { eventSamplingRat: 0.5 } as TaskerOptions['telemetry'],
    }).catch((e: unknown) => e)) as TaskerError;
    expect(typo.code).toBe('CONFIG_INVALID');
    expect(typo.message).toContain(
      'telemetry.eventSamplingRat: unknown setting (did you mean "event_sampling_rate"?)',
    );
  });

  it('suggests both *_sampling_rate keys for the unknown key sampling_rate', async () => {
    const err = (await createTasker({
      database: 'sqlite::memory:',
      logger: false,
      telemetry: { sampling_rate: 0.5 } as TaskerOptions['telemetry'],
    }).catch((e: unknown) => e)) as TaskerError;
    expect(err.message).toContain('(did you mean "trace_sampling_rate" or "event_sampling_rate"?)');
  });

  it("loads the seed's whole telemetry configuration unchanged, as tasker.config.yaml", async () => {
    // The seed's `config.telemetry` block, key for key (Ruby durations as seconds; the Pushgateway
    // endpoint comes from ENV['PROMETHEUS_ENDPOINT'], unset here).
    const dir = tempDir();
    writeFileSync(
      join(dir, 'tasker.config.yaml'),
      `database: sqlite:./t.db
telemetry:
  structured_logging_enabled: true
  correlation_id_header: X-Correlation-ID
  log_format: json
  log_level: info
  enabled: true
  service_name: growthcorp-workflows
  service_version: 2.1.3
  metrics_enabled: true
  metrics_endpoint: /tasker/metrics
  metrics_format: prometheus
  performance_monitoring_enabled: true
  slow_query_threshold_seconds: 1.0
  memory_threshold_mb: 100
  filter_parameters: [password, credit_card, ssn, email]
  filter_mask: '[REDACTED]'
  event_sampling_rate: 1.0
  filtered_events: []
  prometheus:
    job_timeout: 300
    export_timeout: 120
    retry_attempts: 3
    metric_prefix: tasker
    include_instance_labels: true
`,
    );
    const r = await runCli(['tasks', '--json'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('the CLI refuses a config file with a bad telemetry section: file and field named, no stack trace', async () => {
    const dir = tempDir();
    const file = join(dir, 'tasker.config.yaml');
    const cases: Array<[string, RegExp]> = [
      [
        'telemetry:\n  event_sampling_rate: 2\n',
        /telemetry\.event_sampling_rate: expected a number from 0 to 1, got 2/,
      ],
      ['telemetry:\n  log_format: xml\n', /telemetry\.log_format: expected one of json, pretty, got "xml"/],
      ['telemetry:\n  sampling_rate: 0.5\n', /telemetry\.sampling_rate: unknown setting/],
      [
        'telemetry:\n  filtered_events: step.*\n',
        /telemetry\.filtered_events: expected a list of non-empty strings/,
      ],
    ];
    for (const [yaml, expected] of cases) {
      writeFileSync(file, `database: sqlite:./t.db\n${yaml}`);
      const r = await runCli(['tasks'], dir);
      expect(r.code, yaml).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(file);
      expect(r.stderr).toMatch(expected);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// 7. Correlation ids

describe('correlation ids', () => {
  it('replaces an invalid correlation id, warns, and logs the task’s lifecycle with the replacement', async () => {
    const { logger, lines } = capturingLogger('debug');
    const { tasker } = await startEngine(TINY, { only: () => 1 }, { logger });
    const long = `c${'x'.repeat(149)}`;
    const valid100 = `v${'y'.repeat(99)}`;
    const made = await Promise.all(
      ['bad id with spaces', long, valid100].map((correlationId) =>
        tasker.createTask({ namespace: 'mem', name: 'tiny', correlationId }),
      ),
    );
    await waitAll(
      tasker,
      made.map((m) => m.task.id),
    );
    await tasker.events.drain();

    const [spaced, tooLong, ok] = made.map((m) => m.task);
    // A 100-character id is valid and kept.
    expect(ok?.correlationId).toBe(valid100);
    const warnings = lines.filter((l) => /invalid correlation id replaced/.test(l.msg ?? ''));
    expect(warnings.map((l) => l.level)).toEqual([40, 40]);
    for (const [task, given] of [
      [spaced, 'bad id with spaces'],
      [tooLong, long.slice(0, 120)],
    ] as const) {
      const replacement = task?.correlationId ?? '';
      expect(replacement).not.toBe(given);
      expect(replacement).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]*$/);
      expect(replacement.length).toBeLessThanOrEqual(100);
      expect(warnings.filter((w) => w.given === given).map((w) => w.correlation_id)).toEqual([replacement]);
      const lifecycle = lines.filter((l) => l.task_id === task?.id && typeof l.event === 'string');
      expect(lifecycle.map((l) => l.event)).toEqual(
        expect.arrayContaining(['task.created', 'step.started', 'step.completed', 'task.completed']),
      );
      for (const l of lifecycle) expect(l.correlation_id).toBe(replacement);
      const stored = await tasker.getTask(task?.id ?? '');
      expect(stored.task.correlationId).toBe(replacement);
    }
    // Nothing of the 150-character id beyond what the warning quotes reaches the log.
    expect(lines.some((l) => JSON.stringify(l).includes(long))).toBe(false);
  });
});

describe('review fixes', () => {
  it('an application subscriber cannot opt into exact (unredacted) delivery', async () => {
    const { tasker } = await startEngine(TINY, { only: () => 1 });
    const got: TaskerEvent[] = [];
    tasker.subscribe('task.completed', (e) => void got.push(e), { exact: true });
    const { task } = await tasker.createTask({
      namespace: 'mem',
      name: 'tiny',
      context: { password: 'pw-CANARY-9' },
    });
    await tasker.waitForTask(task.id, { timeoutMs: 10_000, pollMs: 20 });
    await tasker.events.drain();
    expect(got).toHaveLength(1);
    expect(JSON.stringify(got)).not.toContain('CANARY');
    expect((got[0]?.payload as { context?: Record<string, unknown> }).context?.password).toBe('[FILTERED]');
  });

  it('masks secrets a handler passes as child-logger bindings', async () => {
    const { logger, raw } = capturingLogger('info');
    const { tasker } = await startEngine(
      TINY,
      {
        only: ({ task, log }: StepHandlerContext) => {
          log.child({ card: task.context.credit_card, password: 'x' }).info('bound');
          return 1;
        },
      },
      { logger },
    );
    const { task } = await tasker.createTask({
      namespace: 'mem',
      name: 'tiny',
      context: { credit_card: '4111-CANARY-4' },
    });
    await tasker.waitForTask(task.id, { timeoutMs: 10_000, pollMs: 20 });
    const text = raw.join('');
    expect(text).toContain('"msg":"bound"');
    expect(text).not.toContain('CANARY');
    expect(text).not.toContain('"password":"x"');
  });

  it('counts withheld events only when an application subscriber would have had them', async () => {
    const { tasker } = await startEngine(
      TINY,
      { only: () => 1 },
      { telemetry: { filteredEvents: ['step.started'] } },
    );
    tasker.enableMetrics();
    const recorded: string[] = [];
    tasker.subscribe('task.*', (e) => void recorded.push(e.name));
    const { task } = await tasker.createTask({ namespace: 'mem', name: 'tiny' });
    await tasker.waitForTask(task.id, { timeoutMs: 10_000, pollMs: 20 });
    await tasker.events.drain();
    const text = await tasker.metrics.metrics();
    // The harness's '*' recorder wants step.started: one withheld. Nobody else subscribes to it.
    expect(family(text, 'tasker_events_sampled_out_total').get('{event="step.started"}')).toBe(1);
    expect(recorded).toContain('task.completed');
  });

  it('the CLI logger writes each trace key once on a handler line inside a span', async () => {
    const { createLogger } = await import('../src/telemetry/logger.js');
    const dir = tempDir();
    const file = join(dir, 'log.json');
    const { openSync, readFileSync, closeSync } = await import('node:fs');
    const fd = openSync(file, 'w');
    const logger = createLogger({ level: 'info', format: 'json', fd });
    const span = trace.getTracer('t').startSpan('x');
    context.with(trace.setSpan(context.active(), span), () => {
      logger.child({ trace_id: 'from-binding', span_id: 'from-binding' }).info('handler line');
      logger.info('engine line');
    });
    span.end();
    logger.flush();
    await sleep(50);
    closeSync(fd);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]?.match(/"trace_id"/g)).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ trace_id: 'from-binding' });
  });
});
