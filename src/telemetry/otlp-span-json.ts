/**
 * OTLP/JSON for span records (the shape the SDK's JsonTraceSerializer produces: hex ids, nanosecond
 * times as strings, attributes as key/value lists), written as UTF-8 straight into off-heap buffers.
 * Nothing per span stays on the JS heap: a busy engine's spans wait there up to a second for their export,
 * and on the heap they were promoted out of V8's young generation — tracing's largest cost was that
 * garbage collection.
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { SpanRecord } from './span-record.js';

/** OTLP's SPAN_KIND_INTERNAL (the API's SpanKind.INTERNAL + 1). */
const KIND_INTERNAL = 1;
/** W3C sampled, plus OTLP's "has is-remote" bit; and "is remote" for a parent from another process. */
const FLAGS_ROOT = 0x101;
const FLAGS_REMOTE_PARENT = 0x301;
const BUFFER_BYTES = 1 << 20;

/** Comma-separated spans, in buffers of BUFFER_BYTES. */
export interface EncodedSpans {
  chunks: Buffer[];
  spans: number;
}

/**
 * Buffers handed back after an export, for the next batch. Fresh memory costs a page fault per 4 KiB at
 * its first write: in a traces-only profile of the single-step bench, writing spans and copying them into
 * the request body took 10.1 µs a step with each batch's buffers and body allocated anew, 4.2 µs reused.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(private readonly keep = 16) {}

  /** A buffer of at least `min` bytes (its contents are garbage). */
  get(min: number): Buffer {
    const i = this.free.findIndex((b) => b.length >= min);
    if (i >= 0) return this.free.splice(i, 1)[0]!;
    // Room to grow: request bodies vary with the batch's spans.
    return Buffer.allocUnsafeSlow(
      Math.max(BUFFER_BYTES, Math.ceil((min * 1.25) / BUFFER_BYTES) * BUFFER_BYTES),
    );
  }

  /** Back to the pool: `b` or a view into one of its buffers; nothing may read it afterwards. */
  put(b: Buffer): void {
    if (this.free.length < this.keep && b.byteOffset === 0 && b.buffer instanceof ArrayBuffer)
      this.free.push(Buffer.from(b.buffer));
  }
}

/** Text known to be printable ASCII, as bytes (the encoder's constants). */
const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const C = {
  comma: ascii(','),
  traceId: ascii('{"traceId":"'),
  spanId: ascii('","spanId":"'),
  parentSpanId: ascii('","parentSpanId":"'),
  name: ascii('","name":'),
  start: ascii(`,"kind":${KIND_INTERNAL},"startTimeUnixNano":"`),
  end: ascii('","endTimeUnixNano":"'),
  attributes: ascii('","attributes":['),
  events: ascii('],"droppedAttributesCount":0,"events":['),
  statusOk: ascii('],"droppedEventsCount":0,"status":{"code":0}'),
  statusError: ascii('],"droppedEventsCount":0,"status":{"code":2,"message":'),
  close: ascii('}'),
  rootTail: ascii(`,"links":[],"droppedLinksCount":0,"flags":${FLAGS_ROOT}}`),
  childTail: ascii(`,"links":[],"droppedLinksCount":0,"flags":${FLAGS_REMOTE_PARENT}}`),
  eventTime: ascii('{"timeUnixNano":"'),
  eventName: ascii('","name":'),
  eventAttributes: ascii(',"attributes":['),
  eventTail: ascii('],"droppedAttributesCount":0}'),
  stringValue: ascii('{"stringValue":'),
  arrayValue: ascii('{"arrayValue":{"values":['),
  arrayTail: ascii(']}}'),
  empty: ascii('{}'),
  yes: ascii('{"boolValue":true}'),
  no: ascii('{"boolValue":false}'),
};

/** Encoded once: attribute keys and span names (a few dozen distinct values), capped against misuse. */
const MAX_CACHED = 4_096;
const keyBytes = new Map<string, Uint8Array>();
const nameBytes = new Map<string, Uint8Array>();
/** A record's `shared` attributes, encoded once per object. */
const sharedBytes = new WeakMap<Attributes, Uint8Array>();

function cached(cache: Map<string, Uint8Array>, key: string, make: () => string): Uint8Array {
  let b = cache.get(key);
  if (b === undefined) {
    b = Buffer.from(make(), 'utf8');
    if (cache.size < MAX_CACHED) cache.set(key, b);
  }
  return b;
}

/**
 * Appends spans as bytes. Constant and repeated pieces are copied in from bytes encoded once; the rest
 * (ids, times, a task id) by a JavaScript loop. No intermediate string: a span built as a template string
 * left a kilobyte of rope and its flattened copy per span for the garbage collector.
 */
export class OtlpSpanWriter {
  private buf: Buffer;
  private pos = 0;
  private chunks: Buffer[] = [];
  private count = 0;

  constructor(private readonly pool = new BufferPool(0)) {
    this.buf = pool.get(BUFFER_BYTES);
  }

  get spans(): number {
    return this.count;
  }

  span(r: SpanRecord): void {
    const most = spanBytes(r);
    if (this.pos + most > this.buf.length) {
      if (this.pos > 0) this.chunks.push(this.buf.subarray(0, this.pos));
      this.buf = this.pool.get(most);
      this.pos = 0;
    }
    if (this.count > 0) this.put(C.comma);
    this.count += 1;
    this.put(C.traceId);
    this.ascii(r.traceId);
    this.put(C.spanId);
    this.ascii(r.spanId);
    if (r.parentSpanId !== undefined) {
      this.put(C.parentSpanId);
      this.ascii(r.parentSpanId);
    }
    this.put(C.name);
    this.put(cached(nameBytes, r.name, () => JSON.stringify(r.name)));
    this.put(C.start);
    this.nanos(r.start);
    this.put(C.end);
    this.nanos(r.end);
    this.put(C.attributes);
    let first = true;
    if (r.shared) {
      let b = sharedBytes.get(r.shared);
      if (b === undefined) {
        b = Buffer.from(pairs(r.shared), 'utf8');
        sharedBytes.set(r.shared, b);
      }
      this.put(b);
      first = b.length === 0;
    }
    first = this.pairs(r.attributes, first);
    if (r.error) this.pairs({ 'error.type': r.error.type }, first);
    this.put(C.events);
    first = true;
    if (r.error?.exception) {
      first = false;
      this.event('exception', r.end, {
        'exception.type': r.error.type,
        'exception.message': r.error.message,
      });
    }
    for (const e of r.events ?? []) {
      if (!first) this.put(C.comma);
      first = false;
      this.event(e.name, e.at, e.attributes);
    }
    if (r.error) {
      this.put(C.statusError);
      this.text(r.error.message);
      this.put(C.close);
    } else this.put(C.statusOk);
    this.put(r.parentSpanId === undefined ? C.rootTail : C.childTail);
  }

  /** The spans written so far; the writer starts empty again. */
  take(): EncodedSpans {
    if (this.pos > 0) this.chunks.push(this.buf.subarray(0, this.pos));
    const out = { chunks: this.chunks, spans: this.count };
    this.chunks = [];
    this.count = 0;
    if (this.pos > 0) {
      this.buf = this.pool.get(BUFFER_BYTES);
      this.pos = 0;
    }
    return out;
  }

  private put(bytes: Uint8Array): void {
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Text known to be printable ASCII without JSON escapes (ids). */
  private ascii(s: string): void {
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** Any text, as a JSON string. */
  private text(s: string): void {
    const b = this.buf;
    let p = this.pos;
    b[p++] = 0x22;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) {
        // Escapes or non-ASCII (rare in engine spans): JSON.stringify and UTF-8, as the SDK writes them.
        this.pos += b.write(JSON.stringify(s), this.pos, 'utf8');
        return;
      }
      b[p++] = c;
    }
    b[p++] = 0x22;
    this.pos = p;
  }

  /** Epoch milliseconds (possibly fractional) as OTLP's nanoseconds, exact to the microsecond. */
  private nanos(ms: number): void {
    let us = Math.round(ms * 1000);
    let digits = 1;
    for (let x = us; x >= 10; x = Math.floor(x / 10)) digits += 1;
    const b = this.buf;
    let p = this.pos + digits;
    const end = p;
    do {
      b[--p] = 0x30 + (us % 10);
      us = Math.floor(us / 10);
    } while (us > 0);
    b[end] = 0x30;
    b[end + 1] = 0x30;
    b[end + 2] = 0x30;
    this.pos = end + 3;
  }

  private value(v: AttributeValue): void {
    switch (typeof v) {
      case 'string':
        this.put(C.stringValue);
        this.text(v);
        this.put(C.close);
        return;
      case 'number':
        this.ascii(anyValueJson(v));
        return;
      case 'boolean':
        this.put(v ? C.yes : C.no);
        return;
      default: {
        this.put(C.arrayValue);
        let first = true;
        for (const x of v as ReadonlyArray<string | number | boolean | null | undefined>) {
          if (!first) this.put(C.comma);
          first = false;
          if (x === null || x === undefined) this.put(C.empty);
          else this.value(x);
        }
        this.put(C.arrayTail);
      }
    }
  }

  /** Key/value pairs, comma-separated; whether the list is still empty after them. */
  private pairs(a: Attributes, first: boolean): boolean {
    for (const k in a) {
      const v = a[k];
      if (v === undefined || v === null) continue;
      if (!first) this.put(C.comma);
      first = false;
      this.put(cached(keyBytes, k, () => `{"key":${JSON.stringify(k)},"value":`));
      this.value(v);
      this.put(C.close);
    }
    return first;
  }

  private event(name: string, at: number, attributes: Attributes): void {
    this.put(C.eventTime);
    this.nanos(at);
    this.put(C.eventName);
    this.put(cached(nameBytes, name, () => JSON.stringify(name)));
    this.put(C.eventAttributes);
    this.pairs(attributes, true);
    this.put(C.eventTail);
  }
}

/** An upper bound of a span's size: 6 bytes per UTF-16 unit of text (a \uXXXX escape), plus the frame. */
function spanBytes(r: SpanRecord): number {
  let n = 512 + r.name.length;
  const attrs = (a: Attributes) => {
    for (const k in a) {
      const v = a[k];
      n += 64 + k.length;
      if (typeof v === 'string') n += v.length;
      else if (Array.isArray(v)) n += JSON.stringify(v).length + 32 * v.length;
    }
  };
  attrs(r.attributes);
  if (r.shared) attrs(r.shared);
  if (r.error) n += 256 + r.error.type.length * 2 + r.error.message.length * 2;
  for (const e of r.events ?? []) {
    n += 128 + e.name.length;
    attrs(e.attributes);
  }
  return n * 6;
}

/** A number as OTLP's AnyValue JSON (integers as intValue, as the SDK writes them). */
function anyValueJson(v: number): string {
  if (Number.isInteger(v)) return `{"intValue":${v}}`;
  return Number.isFinite(v) ? `{"doubleValue":${v}}` : `{"doubleValue":"${v}"}`;
}

/**
 * Comma-separated key/value pairs as JSON text, built as objects: for what is encoded once (a record's
 * shared attributes, the resource), where the byte writer's speed does not matter.
 */
function pairs(a: Attributes): string {
  const list = JSON.stringify(
    Object.entries(a)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([key, v]) => ({ key, value: anyValue(v as AttributeValue) })),
  );
  return list.slice(1, -1);
}

/** OTLP's AnyValue as an object. */
function anyValue(v: AttributeValue): unknown {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number')
    return Number.isInteger(v) ? { intValue: v } : { doubleValue: Number.isFinite(v) ? v : String(v) };
  if (typeof v === 'boolean') return { boolValue: v };
  return {
    arrayValue: {
      values: (v as unknown[]).map((x) =>
        x === null || x === undefined ? {} : anyValue(x as AttributeValue),
      ),
    },
  };
}

const REQUEST_TAIL = ascii(']}]}]}');

/**
 * The request around a batch of encoded spans: one resource, the engine's instrumentation scope. Its body
 * is taken from `pool` when given (hand it back once the request is done with it).
 */
export function otlpRequest(
  resource: Attributes,
  scope: { name: string; version: string },
  spans: EncodedSpans,
  pool?: BufferPool,
): Buffer {
  const open = Buffer.from(
    `{"resourceSpans":[{"resource":{"attributes":[${pairs(resource)}],"droppedAttributesCount":0},` +
      `"scopeSpans":[{"scope":${JSON.stringify({ name: scope.name, version: scope.version })},"spans":[`,
  );
  const parts = [open, ...spans.chunks, REQUEST_TAIL];
  let total = 0;
  for (const p of parts) total += p.length;
  const body = (pool ? pool.get(total) : Buffer.allocUnsafe(total)).subarray(0, total);
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.length;
  }
  return body;
}
