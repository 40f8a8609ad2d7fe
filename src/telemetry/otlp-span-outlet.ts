/**
 * The outlet `tasker serve`/`worker` give the engine's spans (span-record.ts): each record is written as
 * OTLP/JSON bytes when it is emitted (otlp-span-json.ts), so nothing of it waits on the JS heap. Batches go
 * out through the OTLP exporter's own HTTP delegate, so OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout,
 * compression) and its retries apply as they do to the SDK's exporter; OTEL_BSP_* size the batches as
 * for the SDK's batch processor.
 */
import { diag, type Attributes } from '@opentelemetry/api';
import { ExportResultCode, getNumberFromEnv } from '@opentelemetry/core';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
} from '@opentelemetry/otlp-exporter-base/node-http';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { RandomIdGenerator } from '@opentelemetry/sdk-trace-base';
import { BufferPool, OtlpSpanWriter, otlpRequest, type EncodedSpans } from './otlp-span-json.js';
import type { SpanOutlet, SpanRecord } from './span-record.js';

export interface OtlpSpanOutletOptions {
  /** The resource's attributes, read at each export (detectors may settle late). */
  resource: () => Attributes;
  scope: { name: string; version: string };
  /** OTLP/HTTP traces URL; default: the OTEL_EXPORTER_OTLP_* variables. */
  endpoint?: string | undefined;
}

/**
 * Batch sizes for the engine's outlet and the SDK's batch processor alike: larger than the SDK's defaults
 * (2,048 queued, 512 a batch, every 5 s), which drop spans once a busy engine ends more than ~400 steps a
 * second; OTEL_BSP_* still win.
 */
export function batchSettings() {
  return {
    maxQueueSize: getNumberFromEnv('OTEL_BSP_MAX_QUEUE_SIZE') ?? 65_536,
    maxExportBatchSize: getNumberFromEnv('OTEL_BSP_MAX_EXPORT_BATCH_SIZE') ?? 4_096,
    scheduledDelayMillis: getNumberFromEnv('OTEL_BSP_SCHEDULE_DELAY') ?? 1_000,
  };
}

export class OtlpSpanOutlet implements SpanOutlet {
  private readonly ids = new RandomIdGenerator();
  private readonly exporter: OTLPExporterBase<EncodedSpans>;
  private readonly batch = batchSettings();
  private readonly pool = new BufferPool();
  private readonly pending = new OtlpSpanWriter(this.pool);
  /** Each batch's request body, handed back to the pool with its spans' buffers once it is exported. */
  private readonly bodies = new WeakMap<EncodedSpans, Buffer>();
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(o: OtlpSpanOutletOptions) {
    const serializer = {
      serializeRequest: (b: EncodedSpans) => {
        // Remembered, so that the body goes back to the pool once its export is done.
        let body = this.bodies.get(b);
        if (!body) {
          body = otlpRequest(o.resource(), o.scope, b, this.pool);
          this.bodies.set(b, body);
        }
        return body;
      },
      deserializeResponse: (b: Uint8Array) => JsonTraceSerializer.deserializeResponse(b),
    };
    const config = o.endpoint === undefined ? {} : { url: o.endpoint };
    this.exporter = new OTLPExporterBase(
      createOtlpHttpExportDelegate(
        convertLegacyHttpOptions(config, 'TRACES', 'v1/traces', { 'Content-Type': 'application/json' }),
        serializer,
        'otlp_http_span_exporter',
        { name: 'span', countItems: (b: EncodedSpans) => b.spans },
        undefined,
      ),
    );
  }

  newSpanId(): string {
    return this.ids.generateSpanId();
  }

  emit(span: SpanRecord): void {
    if (this.closed) return;
    // A full queue drops the span, as the SDK's batch processor does: the exporter could not keep up.
    if (this.pending.spans >= this.batch.maxQueueSize) return;
    this.pending.span(span);
    if (this.pending.spans >= this.batch.maxExportBatchSize) void this.exportPending();
    else this.timer ??= setTimeout(() => void this.exportPending(), this.batch.scheduledDelayMillis).unref();
  }

  private exportPending(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.spans === 0) return Promise.resolve();
    const batch = this.pending.take();
    const done = new Promise<void>((resolve) =>
      this.exporter.export(batch, (r) => {
        // As numbers: the exporter's nested copy of @opentelemetry/core has its own enum.
        if (Number(r.code) !== Number(ExportResultCode.SUCCESS))
          diag.error(`tasker: exporting ${batch.spans} spans failed`, r.error);
        this.recycle(batch);
        resolve();
      }),
    );
    this.inFlight.add(done);
    void done.then(() => this.inFlight.delete(done));
    return done;
  }

  private recycle(batch: EncodedSpans): void {
    const body = this.bodies.get(batch);
    if (body) this.pool.put(body);
    for (const c of batch.chunks) this.pool.put(c);
  }

  /** Resolves once every span emitted so far has been exported (or its export has failed). */
  async flush(): Promise<void> {
    await this.exportPending();
    await Promise.all(this.inFlight);
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    await this.exporter.shutdown();
  }
}
