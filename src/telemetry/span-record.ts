/**
 * A finished span as plain data, and the outlet that takes such spans instead of the SDK.
 *
 * The engine's spans (a step attempt, a task) are fully known only once their outcome commits: every
 * timing is in the attempt and task records. With an outlet, the engine builds no SDK span objects at all:
 * while a handler runs, only a context carrying the attempt's span id is active (a handler's own spans
 * parent to it), and the span is handed over as a record when the attempt settles. `tasker serve`/`worker`
 * set one up (telemetry/otlp-span-outlet.ts: straight to OTLP/JSON); a host's own provider has none and
 * gets live spans through the API. No SDK imports: the runtime path must not load the SDK.
 */
import {
  ProxyTracerProvider,
  SpanStatusCode,
  type Attributes,
  type Span,
  type TracerProvider,
} from '@opentelemetry/api';

export interface SpanEventRecord {
  name: string;
  /** Epoch milliseconds. */
  at: number;
  attributes: Attributes;
}

export interface SpanRecord {
  name: string;
  traceId: string;
  spanId: string;
  /** The parent's span id, in the same trace; undefined for a root span. */
  parentSpanId: string | undefined;
  /** Epoch milliseconds. */
  start: number;
  end: number;
  attributes: Attributes;
  /**
   * Attributes many spans share (a template's names): the same object every time, so an outlet may
   * encode it once. Written before `attributes`.
   */
  shared?: Attributes | undefined;
  /** Error status with this type and message; `exception` adds the exception event at `end`. */
  error?: { type: string; message: string; exception: boolean };
  events?: SpanEventRecord[];
}

export interface SpanOutlet {
  /** A new random span id (the attempt's, known while its handler runs). */
  newSpanId(): string;
  /** Takes a finished span; never throws, never blocks. */
  emit(span: SpanRecord): void;
}

const outlets = new WeakMap<object, SpanOutlet>();

/** Marks a provider as one whose engine spans go to `outlet` (sdk.ts does this for its own provider). */
export function registerSpanOutlet(provider: TracerProvider, outlet: SpanOutlet): void {
  outlets.set(provider, outlet);
}

/** The outlet of this provider, or of the global provider it stands for; undefined for any other. */
export function spanOutletOf(provider: TracerProvider): SpanOutlet | undefined {
  const real = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  return outlets.get(real);
}

/**
 * A record applied to a live SDK span (a host's own provider, which has no outlet): its outcome and
 * events, then its end. The outlet writes the same record as OTLP/JSON (otlp-span-json.ts); its test
 * checks the two agree.
 */
export function endLiveSpan(span: Span, r: SpanRecord): void {
  if (r.error) {
    span.setAttribute('error.type', r.error.type);
    span.setStatus({ code: SpanStatusCode.ERROR, message: r.error.message });
    if (r.error.exception) span.recordException({ name: r.error.type, message: r.error.message }, r.end);
  }
  for (const e of r.events ?? []) span.addEvent(e.name, e.attributes, e.at);
  span.end(r.end);
}
