/**
 * The engine's span outlet writes OTLP/JSON itself (telemetry/otlp-span-json.ts): each record must come
 * out exactly as the SDK's own JSON serializer writes the same span built through the SDK.
 */
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { withForcedIds } from '../src/telemetry/forced-ids.js';
import { BufferPool, OtlpSpanWriter, otlpRequest } from '../src/telemetry/otlp-span-json.js';
import { TaskerIdGenerator } from '../src/telemetry/sdk.js';
import { endLiveSpan, type SpanRecord } from '../src/telemetry/span-record.js';

/** The same span through the SDK (as the live path builds it), serialized by the SDK's JsonTraceSerializer. */
function viaSdk(r: SpanRecord): unknown {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    idGenerator: new TaskerIdGenerator(),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const parent =
    r.parentSpanId === undefined
      ? ROOT_CONTEXT
      : trace.setSpanContext(ROOT_CONTEXT, {
          traceId: r.traceId,
          spanId: r.parentSpanId,
          traceFlags: 1,
          isRemote: true,
        });
  const tracer = provider.getTracer('tasker-engine', '1.2.3');
  const span = withForcedIds(r.traceId, r.spanId, () =>
    tracer.startSpan(
      r.name,
      { kind: SpanKind.INTERNAL, startTime: r.start, attributes: { ...r.shared, ...r.attributes } },
      parent,
    ),
  );
  endLiveSpan(span, r);
  const body = JsonTraceSerializer.serializeRequest(exporter.getFinishedSpans());
  return JSON.parse(new TextDecoder().decode(body));
}

function viaFreshWriter(records: SpanRecord[]) {
  const w = new OtlpSpanWriter();
  for (const r of records) w.span(r);
  return w.take();
}

function viaWriter(...records: SpanRecord[]): unknown {
  const w = new OtlpSpanWriter();
  for (const r of records) w.span(r);
  const body = otlpRequest({}, { name: 'tasker-engine', version: '1.2.3' }, w.take());
  return JSON.parse(body.toString('utf8'));
}
const spanOf = (doc: unknown) =>
  (doc as { resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[]; scope: unknown }> }> })
    .resourceSpans[0]?.scopeSpans[0];

describe('OTLP/JSON of a span record', () => {
  const step: SpanRecord = {
    name: 'step charge',
    traceId: '01a217f844d0702f8ece8a9a8955d531',
    spanId: '82e831d49a403858',
    parentSpanId: '8ece8a9a8955d531',
    start: 1_764_590_000_123,
    end: 1_764_590_000_456.5,
    attributes: {
      'tasker.task.id': '01a217f8-44d0-702f-8ece-8a9a8955d531',
      'tasker.step.name': 'charge',
      'tasker.step.attempt': 1,
      'tasker.ratio': 0.25,
      'tasker.flag': true,
      'tasker.list': ['a', 'b'],
      'tasker.quote': 'say "hi"\n\u2028',
    },
    error: { type: 'TypeError', message: 'gateway "hiccup"', exception: true },
    events: [
      {
        name: 'tasker.step.retry_scheduled',
        at: 1_764_590_000_456,
        attributes: { 'tasker.step.next_attempt': 2 },
      },
    ],
  };
  const task: SpanRecord = {
    name: 'task shop.order',
    traceId: '01a217f844d0702f8ece8a9a8955d531',
    spanId: '8ece8a9a8955d531',
    parentSpanId: undefined,
    start: 1_764_590_000_000,
    end: 1_764_590_001_000,
    attributes: { 'tasker.task.status': 'failed', 'tasker.correlation_id': 'order-77' },
    error: { type: 'task_failed', message: 'ship timed out', exception: false },
  };
  const shared = { 'tasker.namespace': 'shop', 'tasker.step.max_attempts': 3 };
  const withShared: SpanRecord = { ...step, shared, attributes: { 'tasker.step.attempt': 2 } };
  const ok: SpanRecord = {
    ...task,
    name: 'task shop.order resumed',
    spanId: 'aaaaaaaaaaaaaaaa',
    error: undefined,
  };

  it.each([
    ['a failed step attempt with an exception and a retry event, under a remote parent', step],
    ['a failed root task span (error status, no exception event)', task],
    ['a span that succeeded', ok],
    ['a span with shared attributes (encoded once, written first)', withShared],
    ['the same shared object again, from the cache', withShared],
  ])('%s: the same span the SDK serializes', (_what, r) => {
    const ours = spanOf(viaWriter(r));
    const sdk = spanOf(viaSdk(r));
    expect(ours?.scope).toEqual(sdk?.scope);
    expect(ours?.spans).toEqual(sdk?.spans);
  });

  it('writes many spans of any text across buffers, and starts empty after each take', () => {
    const w = new OtlpSpanWriter();
    const many = Array.from({ length: 3_000 }, (_, i) => ({
      ...step,
      spanId: i.toString(16).padStart(16, '0'),
      attributes: { ...step.attributes, 'tasker.note': `ünïcödé ${'x'.repeat(i % 500)} \u{1F600} "${i}"` },
    }));
    for (const r of many) w.span(r);
    const batch = w.take();
    expect(batch.spans).toBe(3_000);
    expect(batch.chunks.length).toBeGreaterThan(1); // more than one 1 MiB buffer
    const doc = JSON.parse(otlpRequest({}, { name: 'n', version: 'v' }, batch).toString('utf8')) as {
      resourceSpans: Array<{
        scopeSpans: Array<{
          spans: Array<{
            spanId: string;
            attributes: Array<{ key: string; value: { stringValue?: string } }>;
          }>;
        }>;
      }>;
    };
    const spans = doc.resourceSpans[0]?.scopeSpans[0]?.spans ?? [];
    expect(spans.map((s) => s.spanId)).toEqual(many.map((r) => r.spanId));
    expect(spans[2_999]?.attributes.find((a) => a.key === 'tasker.note')?.value.stringValue).toBe(
      many[2_999]?.attributes['tasker.note'],
    );
    expect(w.take()).toEqual({ chunks: [], spans: 0 });
  });

  it('reuses the buffers of an exported batch, and a batch written into reused memory reads the same', () => {
    const pool = new BufferPool();
    const w = new OtlpSpanWriter(pool);
    const many = Array.from({ length: 2_000 }, (_, i) => ({
      ...step,
      spanId: i.toString(16).padStart(16, '0'),
      attributes: { ...step.attributes, 'tasker.note': `${'y'.repeat(i % 700)} ${i}` },
    }));
    const write = (records: SpanRecord[]) => {
      for (const r of records) w.span(r);
      const batch = w.take();
      const body = otlpRequest({}, { name: 'n', version: 'v' }, batch, pool);
      const text = body.toString('utf8');
      return { text, buffers: [body.buffer, ...batch.chunks.map((c) => c.buffer)], batch, body };
    };
    const first = write(many);
    for (const c of first.batch.chunks) pool.put(c);
    pool.put(first.body);
    // Fewer, shorter spans into the recycled memory: no byte of the first batch may show through.
    const second = write(many.slice(0, 700).reverse());
    expect(second.buffers.some((b) => first.buffers.includes(b))).toBe(true);
    expect(JSON.parse(second.text)).toEqual(
      JSON.parse(
        otlpRequest({}, { name: 'n', version: 'v' }, viaFreshWriter(many.slice(0, 700).reverse())).toString(),
      ),
    );
    expect(JSON.parse(first.text)).toEqual(
      JSON.parse(otlpRequest({}, { name: 'n', version: 'v' }, viaFreshWriter(many)).toString()),
    );
  });

  it('writes the resource attributes once per request', () => {
    const doc = JSON.parse(
      otlpRequest(
        { 'service.name': 'svc', 'process.pid': 42 },
        { name: 'n', version: 'v' },
        new OtlpSpanWriter().take(),
      ).toString(),
    ) as { resourceSpans: Array<{ resource: { attributes: unknown[] } }> };
    expect(doc.resourceSpans[0]?.resource.attributes).toEqual([
      { key: 'service.name', value: { stringValue: 'svc' } },
      { key: 'process.pid', value: { intValue: 42 } },
    ]);
  });
});
