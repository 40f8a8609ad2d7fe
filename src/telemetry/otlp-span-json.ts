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
 * Appends spans as bytes. Each piece is copied in by a JavaScript loop: no intermediate string (a span
 * built as a template string left a kilobyte of rope and its flattened copy per span for the garbage
 * collector), and no native call per piece (Buffer#write costs more in calls than it saves).
 */
export class OtlpSpanWriter {
  private buf = Buffer.allocUnsafeSlow(BUFFER_BYTES);
  private pos = 0;
  private chunks: Buffer[] = [];
  private count = 0;

  get spans(): number {
    return this.count;
  }

  span(r: SpanRecord): void {
    const most = spanBytes(r);
    if (this.pos + most > this.buf.length) {
      if (this.pos > 0) this.chunks.push(this.buf.subarray(0, this.pos));
      this.buf = Buffer.allocUnsafeSlow(Math.max(BUFFER_BYTES, most));
      this.pos = 0;
    }
    if (this.count > 0) this.ascii(',');
    this.count += 1;
    this.ascii('{"traceId":"');
    this.ascii(r.traceId);
    this.ascii('","spanId":"');
    this.ascii(r.spanId);
    if (r.parentSpanId !== undefined) {
      this.ascii('","parentSpanId":"');
      this.ascii(r.parentSpanId);
    }
    this.ascii('","name":');
    this.text(r.name);
    this.ascii(`,"kind":${KIND_INTERNAL},"startTimeUnixNano":"`);
    this.nanos(r.start);
    this.ascii('","endTimeUnixNano":"');
    this.nanos(r.end);
    this.ascii('","attributes":');
    this.attributes(r.attributes, r.error?.type);
    this.ascii(',"droppedAttributesCount":0,"events":[');
    let first = true;
    if (r.error?.exception) {
      first = false;
      this.event('exception', r.end, {
        'exception.type': r.error.type,
        'exception.message': r.error.message,
      });
    }
    for (const e of r.events ?? []) {
      if (!first) this.ascii(',');
      first = false;
      this.event(e.name, e.at, e.attributes);
    }
    this.ascii('],"droppedEventsCount":0,"status":');
    if (r.error) {
      this.ascii('{"code":2,"message":');
      this.text(r.error.message);
      this.ascii('}');
    } else this.ascii('{"code":0}');
    this.ascii(',"links":[],"droppedLinksCount":0,"flags":');
    this.ascii(r.parentSpanId === undefined ? ROOT_FLAGS : REMOTE_PARENT_FLAGS);
    this.ascii('}');
  }

  /** The spans written so far; the writer starts empty again. */
  take(): EncodedSpans {
    if (this.pos > 0) this.chunks.push(this.buf.subarray(0, this.pos));
    const out = { chunks: this.chunks, spans: this.count };
    this.chunks = [];
    this.count = 0;
    if (this.pos > 0) {
      this.buf = Buffer.allocUnsafeSlow(BUFFER_BYTES);
      this.pos = 0;
    }
    return out;
  }

  /** Text known to be printable ASCII without JSON escapes (ids, the encoder's own constants). */
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
    const b = this.buf;
    const start = this.pos;
    let p = start;
    do {
      b[p++] = 0x30 + (us % 10);
      us = Math.floor(us / 10);
    } while (us > 0);
    b.subarray(start, p).reverse();
    b[p++] = 0x30;
    b[p++] = 0x30;
    b[p++] = 0x30;
    this.pos = p;
  }

  private value(v: AttributeValue): void {
    switch (typeof v) {
      case 'string':
        this.ascii('{"stringValue":');
        this.text(v);
        this.ascii('}');
        return;
      case 'number':
        if (Number.isInteger(v)) this.ascii(`{"intValue":${v}}`);
        else this.ascii(Number.isFinite(v) ? `{"doubleValue":${v}}` : `{"doubleValue":"${v}"}`);
        return;
      case 'boolean':
        this.ascii(v ? '{"boolValue":true}' : '{"boolValue":false}');
        return;
      default: {
        this.ascii('{"arrayValue":{"values":[');
        let first = true;
        for (const x of v as ReadonlyArray<string | number | boolean | null | undefined>) {
          if (!first) this.ascii(',');
          first = false;
          if (x === null || x === undefined) this.ascii('{}');
          else this.value(x);
        }
        this.ascii(']}}');
      }
    }
  }

  private attributes(a: Attributes, errorType?: string): void {
    this.ascii('[');
    let first = true;
    for (const k in a) {
      const v = a[k];
      if (v === undefined || v === null) continue;
      this.ascii(first ? '{"key":' : ',{"key":');
      first = false;
      this.text(k);
      this.ascii(',"value":');
      this.value(v);
      this.ascii('}');
    }
    if (errorType !== undefined) {
      this.ascii(first ? '{"key":"error.type","value":' : ',{"key":"error.type","value":');
      this.value(errorType);
      this.ascii('}');
    }
    this.ascii(']');
  }

  private event(name: string, at: number, attributes: Attributes): void {
    this.ascii('{"timeUnixNano":"');
    this.nanos(at);
    this.ascii('","name":');
    this.text(name);
    this.ascii(',"attributes":');
    this.attributes(attributes);
    this.ascii(',"droppedAttributesCount":0}');
  }
}

const ROOT_FLAGS = String(FLAGS_ROOT);
const REMOTE_PARENT_FLAGS = String(FLAGS_REMOTE_PARENT);

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
  if (r.error) n += 256 + r.error.type.length * 2 + r.error.message.length * 2;
  for (const e of r.events ?? []) {
    n += 128 + e.name.length;
    attrs(e.attributes);
  }
  return n * 6;
}

/** OTLP attributes as a string (the resource's, once per request). */
function attributes(a: Attributes): string {
  return JSON.stringify(
    Object.entries(a)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([key, v]) => ({ key, value: anyValue(v as AttributeValue) })),
  );
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

/** The request around a batch of encoded spans: one resource, the engine's instrumentation scope. */
export function otlpRequest(
  resource: Attributes,
  scope: { name: string; version: string },
  spans: EncodedSpans,
): Buffer {
  const open =
    `{"resourceSpans":[{"resource":{"attributes":${attributes(resource)},"droppedAttributesCount":0},` +
    `"scopeSpans":[{"scope":${JSON.stringify({ name: scope.name, version: scope.version })},"spans":[`;
  return Buffer.concat([Buffer.from(open), ...spans.chunks, Buffer.from(']}]}]}')]);
}
