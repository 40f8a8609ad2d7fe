/**
 * One OpenTelemetry trace per task, exported by the real OTLPTraceExporter to an in-process OTLP/HTTP
 * receiver: parent chain task → step, error status on failed attempts, a given traceparent as parent,
 * handler code inside the step span, log lines carrying the span ids, steps in other processes and after
 * a SIGKILL joining the same trace, and a host-registered provider used and never replaced.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { context, propagation, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../src/api/server.js';
import {
  PermanentError,
  createTasker,
  type StepEventPayload,
  type StepHandlerContext,
} from '../src/index.js';
import { taskTraceContext } from '../src/core/trace-context.js';
import { setupTracing, type TracingSetup } from '../src/telemetry/sdk.js';
import { spanOutletOf } from '../src/telemetry/span-record.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { FAST_RETRY, sleep, startEngine, tempDir, templatesFromYaml } from './support/harness.js';
import { capturingLogger } from './support/logs.js';

const SHOP = `
namespace: shop
name: order
version: 1.0.0
steps:
  - { name: check, handler: check }
  - name: charge
    handler: charge
    depends_on: [check]
    ${FAST_RETRY}
  - name: ship
    handler: ship
    depends_on: [charge]
    timeout_seconds: 0.05
    retry: { retryable: false }
`;

const hexOf = (taskId: string) => taskId.replace(/-/g, '');

describe('a host-registered TracerProvider', () => {
  it('is used for the engine’s spans and never replaced', async () => {
    const exporter = new InMemorySpanExporter();
    const host = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    expect(trace.setGlobalTracerProvider(host)).toBe(true);
    try {
      // What `tasker serve` would do: it must leave the host's provider in place.
      expect(setupTracing({ serviceName: 'should-not-win' })).toBeNull();
      const { tasker } = await startEngine(
        `
namespace: host
name: one
version: 1.0.0
steps:
  - { name: only, handler: only }
`,
        { only: () => ({ ok: true }) },
        { telemetry: { enabled: true } },
      );
      const { task } = await tasker.createTask({ namespace: 'host', name: 'one' });
      await tasker.waitForTask(task.id, { timeoutMs: 10_000, pollMs: 20 });
      await tasker.events.drain();
      const spans = exporter.getFinishedSpans();
      expect(spans.map((s) => s.name).sort()).toEqual(['step only', 'task host.one']);
      // The host's generator picks its own ids, but every span stays in the task's trace.
      for (const s of spans) expect(s.spanContext().traceId).toBe(hexOf(task.id));
      expect((trace.getTracerProvider() as unknown as { getDelegate(): unknown }).getDelegate()).toBe(host);
    } finally {
      trace.disable();
    }
  });
});

describe('a span processor that throws', () => {
  it('never stops an attempt from running or being recorded', async () => {
    const throwing = {
      onStart: () => {
        throw new Error('processor bug in onStart');
      },
      onEnd: () => {
        throw new Error('processor bug in onEnd');
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    expect(trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [throwing] }))).toBe(true);
    try {
      const { logger, lines } = capturingLogger('info');
      const { tasker } = await startEngine(
        `
namespace: host
name: two
version: 1.0.0
steps:
  - { name: a, handler: a }
  - { name: b, handler: a, depends_on: [a] }
`,
        { a: () => ({ ok: true }) },
        { telemetry: { enabled: true }, logger },
      );
      const { task } = await tasker.createTask({ namespace: 'host', name: 'two' });
      const done = await tasker.waitForTask(task.id, { timeoutMs: 10_000, pollMs: 20 });
      expect(done.status).toBe('complete');
      expect(lines.some((l) => /attempt observer failed in (start|end)/.test(String(l.msg)))).toBe(true);
    } finally {
      trace.disable();
    }
  });
});

describe('tracing with the SDK tasker serve/worker set up (OTLP/HTTP export)', () => {
  let receiver: OtlpReceiver;
  let setup: TracingSetup;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const s = setupTracing({
      serviceName: 'tracing-test',
      serviceVersion: '9.9.9',
      endpoint: receiver.url,
    });
    if (!s) throw new Error('setupTracing refused');
    setup = s;
  });
  afterAll(async () => {
    await setup.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
    await receiver.close();
  });

  const flush = () => setup.flush();
  const ofTrace = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);

  it('exports one trace per task: task span → step spans, errors, retry and timeout events, log ids', async () => {
    const { logger, lines } = capturingLogger('info');
    let activeInHandler: string | undefined;
    let recordingInHandler: boolean | undefined;
    let charged = 0;
    const { tasker, events } = await startEngine(
      SHOP,
      {
        check: ({ log }: StepHandlerContext) => {
          activeInHandler = trace.getActiveSpan()?.spanContext().spanId;
          recordingInHandler = trace.getActiveSpan()?.isRecording();
          // An instrumented call the handler makes: a child of the step span, in the task's trace.
          trace.getTracer('inventory-client').startSpan('GET /stock').end();
          log.info('checking the cart');
          return true;
        },
        charge: () => {
          charged += 1;
          if (charged === 1) throw new TypeError('gateway hiccup');
          return { charged: true };
        },
        ship: ({ signal }: StepHandlerContext) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
      },
      { telemetry: { enabled: true }, logger },
    );
    const { task } = await tasker.createTask({ namespace: 'shop', name: 'order', correlationId: 'order-77' });
    await tasker.waitForTask(task.id, { timeoutMs: 10_000, pollMs: 20 });
    await tasker.events.drain();
    await flush();

    const tc = taskTraceContext(task.id, null);
    const spans = ofTrace(tc.traceId);
    expect(tc.traceId).toBe(hexOf(task.id));
    // The engine's spans are built in the span thread from the committed facts: while the handler ran,
    // only a context with the step span's ids was active here, no span object recording.
    expect(spanOutletOf(trace.getTracerProvider())).toBeDefined();
    expect(recordingInHandler).toBe(false);
    expect(spans.map((s) => s.name).sort()).toEqual([
      'GET /stock',
      'step charge',
      'step charge',
      'step check',
      'step ship',
      'task shop.order',
    ]);
    const taskSpan = spans.find((s) => s.name === 'task shop.order') as ReceivedSpan;
    expect(taskSpan.spanId).toBe(tc.spanId);
    expect(taskSpan.parentSpanId).toBeUndefined();
    expect(taskSpan.status.code).toBe(2); // ERROR: ship timed out, not retryable
    expect(taskSpan.attributes).toMatchObject({
      'tasker.task.id': task.id,
      'tasker.namespace': 'shop',
      'tasker.task.name': 'order',
      'tasker.task.version': '1.0.0',
      'tasker.correlation_id': 'order-77',
      'tasker.task.status': 'failed',
    });
    expect(taskSpan.resource['service.name']).toBe('tracing-test');
    const steps = spans.filter((s) => s.name.startsWith('step '));
    for (const s of steps) {
      expect(s.parentSpanId).toBe(tc.spanId);
      expect(s.startMs).toBeGreaterThanOrEqual(taskSpan.startMs);
      expect(s.endMs).toBeLessThanOrEqual(taskSpan.endMs);
    }
    const [firstCharge, secondCharge] = steps
      .filter((s) => s.name === 'step charge')
      .sort(
        (a, b) => Number(a.attributes['tasker.step.attempt']) - Number(b.attributes['tasker.step.attempt']),
      );
    expect(firstCharge?.status.code).toBe(2);
    expect(firstCharge?.attributes['error.type']).toBe('TypeError');
    expect(firstCharge?.attributes['tasker.step.max_attempts']).toBe(3);
    expect(firstCharge?.events.map((e) => e.name)).toEqual(['exception', 'tasker.step.retry_scheduled']);
    // The retry on the span is the planner's, as committed: the same instant as the step.retry_scheduled event.
    const retry = events
      .filter((e) => e.name === 'step.retry_scheduled')
      .map((e) => e.payload as StepEventPayload)
      .find((p) => p.step_name === 'charge');
    expect(retry?.next_attempt_at).toMatch(/^\d{4}-/);
    expect(firstCharge?.events[1]?.attributes).toEqual({
      'tasker.step.attempt': 1,
      'tasker.step.next_attempt': 2,
      'tasker.step.next_attempt_at': retry?.next_attempt_at,
    });
    expect(secondCharge?.status.code).toBe(0);
    expect(secondCharge?.attributes['error.type']).toBeUndefined();
    const ship = steps.find((s) => s.name === 'step ship') as ReceivedSpan;
    expect(ship.attributes['error.type']).toBe('timeout');
    expect(ship.events.map((e) => e.name)).toContain('tasker.step.timeout');

    // The handler ran inside its step span: an instrumented call it made would be that span's child.
    const check = steps.find((s) => s.name === 'step check') as ReceivedSpan;
    expect(activeInHandler).toBe(check.spanId);
    expect(spans.find((s) => s.name === 'GET /stock')?.parentSpanId).toBe(check.spanId);
    // Log lines: the handler's carries its step span; the engine's lifecycle lines the matching spans.
    const mine = lines.filter((l) => l.task_id === task.id);
    const handlerLine = mine.find((l) => l.msg === 'checking the cart');
    expect(handlerLine).toMatchObject({
      correlation_id: 'order-77',
      trace_id: tc.traceId,
      span_id: check.spanId,
    });
    const retryLine = mine.find((l) => l.event === 'step.retry_scheduled');
    expect(retryLine).toMatchObject({
      level: 40,
      correlation_id: 'order-77',
      step_name: 'charge',
      attempt: 1,
    });
    expect(retryLine?.span_id).toBe(firstCharge?.spanId);
    const failedLine = mine.find((l) => l.event === 'task.failed');
    expect(failedLine).toMatchObject({
      level: 50,
      trace_id: tc.traceId,
      span_id: tc.spanId,
      task_name: 'order',
    });
    for (const l of mine) {
      expect(l).toMatchObject({
        correlation_id: 'order-77',
        namespace: 'shop',
        task_name: 'order',
        task_version: '1.0.0',
      });
      expect(l.trace_id).toBe(tc.traceId);
    }
  });

  it('emits the task span once; a retried task’s later end is a `resumed` child of it', async () => {
    let fail = true;
    const { tasker } = await startEngine(
      `
namespace: shop
name: retried
version: 1.0.0
steps:
  - { name: only, handler: only }
`,
      {
        only: () => {
          if (fail) throw new PermanentError('card declined');
          return { ok: true };
        },
      },
      { telemetry: { enabled: true } },
    );
    const { task } = await tasker.createTask({ namespace: 'shop', name: 'retried' });
    expect((await tasker.waitForTask(task.id, { timeoutMs: 10_000, pollMs: 20 })).status).toBe('error');
    fail = false;
    await tasker.retryTask(task.id);
    expect((await tasker.waitForTask(task.id, { timeoutMs: 10_000 })).status).toBe('complete');
    await tasker.events.drain();
    await flush();
    const tc = taskTraceContext(task.id, null);
    const spans = ofTrace(tc.traceId);
    const taskSpans = spans.filter((x) => x.name === 'task shop.retried');
    expect(taskSpans).toHaveLength(1);
    expect(taskSpans[0]?.spanId).toBe(tc.spanId);
    expect(taskSpans[0]?.status.code).toBe(2);
    const resumed = spans.filter((x) => x.name === 'task shop.retried resumed');
    expect(resumed).toHaveLength(1);
    expect(resumed[0]?.parentSpanId).toBe(tc.spanId);
    expect(resumed[0]?.attributes['tasker.task.status']).toBe('completed');
    expect(new Set(spans.map((x) => x.spanId)).size).toBe(spans.length);
    const steps = spans.filter((x) => x.name === 'step only');
    expect(steps).toHaveLength(2);
    for (const x of steps) expect(x.parentSpanId).toBe(tc.spanId);
  });

  it('makes an incoming traceparent the task span’s parent, and the active span when none is given', async () => {
    const { tasker } = await startEngine(
      `
namespace: shop
name: quick
version: 1.0.0
steps:
  - { name: only, handler: only }
`,
      { only: () => 1 },
      { telemetry: { enabled: true } },
    );
    const given = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const a = await tasker.createTask({ namespace: 'shop', name: 'quick', traceparent: given });
    expect(a.task.traceparent).toBe(given);
    const request = trace.getTracer('host-app').startSpan('POST /orders');
    const b = await context.with(trace.setSpan(context.active(), request), () =>
      tasker.createTask({ namespace: 'shop', name: 'quick' }),
    );
    request.end();
    await expect(
      tasker.createTask({ namespace: 'shop', name: 'quick', traceparent: 'not-a-traceparent' }),
    ).rejects.toThrow(/traceparent: expected a W3C traceparent/);
    for (const t of [a, b]) await tasker.waitForTask(t.task.id, { timeoutMs: 10_000, pollMs: 20 });
    await tasker.events.drain();
    await flush();

    const ta = ofTrace('4bf92f3577b34da6a3ce929d0e0e4736');
    const taskA = ta.find((s) => s.name === 'task shop.quick') as ReceivedSpan;
    expect(taskA.parentSpanId).toBe('00f067aa0ba902b7');
    expect(ta.find((s) => s.name === 'step only')?.parentSpanId).toBe(taskA.spanId);
    const rc = request.spanContext();
    const tb = ofTrace(rc.traceId);
    expect(tb.find((s) => s.name === 'task shop.quick')?.parentSpanId).toBe(rc.spanId);
    expect(tb.map((s) => s.name).sort()).toEqual(['POST /orders', 'step only', 'task shop.quick']);
  });

  it('takes the traceparent and the configured correlation header of POST /tasker/tasks', async () => {
    const { tasker } = await startEngine(
      `
namespace: shop
name: api
version: 1.0.0
steps:
  - { name: only, handler: only }
`,
      { only: () => 1 },
      { telemetry: { enabled: true, correlationIdHeader: 'X-Request-ID' } },
    );
    const app = await buildServer(tasker, { processMetrics: false });
    try {
      const post = (headers: Record<string, string>) =>
        app.inject({
          method: 'POST',
          url: '/tasker/tasks',
          headers: { 'content-type': 'application/json', ...headers },
          payload: { namespace: 'shop', name: 'api' },
        });
      const traced = await post({
        traceparent: '00-5bf92f3577b34da6a3ce929d0e0e4736-10f067aa0ba902b7-01',
        'x-request-id': 'req-42',
      });
      expect(traced.statusCode).toBe(201);
      expect(traced.headers['x-request-id']).toBe('req-42');
      const tracedId = traced.json<{ id: string }>().id;
      expect(traced.json()).toMatchObject({ correlation_id: 'req-42' });
      // An invalid traceparent is ignored (W3C), not an error: the task starts a trace of its own.
      const untraced = await post({ traceparent: '00-zzzz-not-valid-01' });
      expect(untraced.statusCode).toBe(201);
      const untracedId = untraced.json<{ id: string }>().id;
      for (const id of [tracedId, untracedId])
        await tasker.waitForTask(id, { timeoutMs: 10_000, pollMs: 20 });
      expect((await tasker.getTask(untracedId)).task.traceparent).toBeNull();
      await tasker.events.drain();
      await flush();
      const taskSpan = ofTrace('5bf92f3577b34da6a3ce929d0e0e4736').find((x) => x.name === 'task shop.api');
      expect(taskSpan?.parentSpanId).toBe('10f067aa0ba902b7');
      expect(taskSpan?.attributes['tasker.correlation_id']).toBe('req-42');
      expect(
        ofTrace(hexOf(untracedId))
          .map((x) => x.name)
          .sort(),
      ).toEqual(['step only', 'task shop.api']);
    } finally {
      await app.close();
    }
  });

  it('keeps a task in one trace when its steps run in two processes and one of them is SIGKILLed', async () => {
    const dir = tempDir();
    const database = `sqlite:${join(dir, 'trace.db')}`;
    const log = join(dir, 'log.txt');
    const creator = await createTasker({
      database,
      logger: false,
      templates: templatesFromYaml(`
namespace: trace
name: chain
version: 1.0.0
steps:
  - { name: a, handler: a }
  - { name: b, handler: b, depends_on: [a] }
  - { name: c, handler: c, depends_on: [b] }
`),
    });
    const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const made = [
      await creator.createTask({ namespace: 'trace', name: 'chain' }),
      await creator.createTask({ namespace: 'trace', name: 'chain', traceparent: parent }),
    ].map((r) => r.task);
    await creator.close();

    const children: ChildProcess[] = [];
    const spawnWorker = (handlers: string, bMs: number) => {
      const child = spawn(
        process.execPath,
        [join(import.meta.dirname, 'fixtures', 'trace-worker.mjs'), database, handlers, log],
        {
          stdio: ['ignore', 'inherit', 'inherit'],
          env: {
            ...process.env,
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url,
            OTEL_BSP_SCHEDULE_DELAY: '20',
            B_MS: String(bMs),
          },
        },
      );
      children.push(child);
      return { child, exited: new Promise((r) => child.on('exit', r)) };
    };
    const logLines = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
    try {
      const first = spawnWorker('a,b', 60_000); // b hangs: it will be killed mid-step
      const cWorker = spawnWorker('c', 5);
      const ids = made.map((t) => taskTraceContext(t.id, t.traceparent));
      await receiver.waitFor((spans) =>
        ids.every((tc) => spans.some((s) => s.traceId === tc.traceId && s.name === 'step a')),
      );
      for (let i = 0; i < 200 && logLines().filter((l) => l.includes(' start b ')).length < made.length; i++)
        await sleep(20);
      first.child.kill('SIGKILL');
      await first.exited;
      const second = spawnWorker('a,b', 5); // recovers b once the 1 s lease has expired
      await receiver.waitFor(
        (spans) =>
          ids.every((tc) => spans.some((s) => s.traceId === tc.traceId && s.name === 'task trace.chain')),
        20_000,
      );
      for (const w of [cWorker, second]) {
        w.child.kill('SIGTERM');
        await w.exited;
      }

      for (const [i, t] of made.entries()) {
        const tc = ids[i]!;
        const spans = ofTrace(tc.traceId);
        const taskSpan = spans.filter((s) => s.name === 'task trace.chain');
        expect(taskSpan).toHaveLength(1);
        expect(taskSpan[0]?.spanId).toBe(tc.spanId);
        expect(taskSpan[0]?.parentSpanId).toBe(t.traceparent ? 'b7ad6b7169203331' : undefined);
        const byName = (n: string) => spans.filter((s) => s.name === n);
        // The killed attempt of b never ended where it ran: the process that recovered it emitted its span,
        // failed with worker_lost, from its start to the recovery; the retry that followed has its own.
        expect(byName('step a')).toHaveLength(1);
        const bSpans = byName('step b').sort((x, y) => x.startMs - y.startMs);
        expect(bSpans.map((s) => s.attributes['tasker.step.attempt'])).toEqual([1, 2]);
        const lost = bSpans[0]!;
        expect(lost.attributes['error.type']).toBe('worker_lost');
        expect(lost.status.code).toBe(2);
        expect(lost.events.map((e) => e.name)).toEqual(['exception', 'tasker.step.retry_scheduled']);
        // Recorded by whichever living worker's cycle found the expired lease first.
        expect([cWorker.child.pid, second.child.pid]).toContain(lost.resource['process.pid']);
        expect(lost.endMs - lost.startMs).toBeGreaterThanOrEqual(1000); // it ran until its 1 s lease expired
        expect(bSpans[1]?.status.code).not.toBe(2);
        expect(byName('step c')).toHaveLength(1);
        for (const s of spans.filter((x) => x.name.startsWith('step ')))
          expect(s.parentSpanId).toBe(tc.spanId);
        const pid = (n: string) => byName(n)[0]?.resource['process.pid'];
        expect(pid('step a')).toBe(first.child.pid);
        expect(bSpans[1]?.resource['process.pid']).toBe(second.child.pid);
        expect(pid('step c')).toBe(cWorker.child.pid);
      }
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  }, 60_000);
});
