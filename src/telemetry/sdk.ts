/**
 * The OpenTelemetry SDK for the processes the CLI starts (`tasker serve`, `tasker worker`): a
 * NodeTracerProvider with TaskerIdGenerator, a batch processor and the OTLP/HTTP exporter (configured by
 * the standard OTEL_EXPORTER_OTLP_* variables), and the outlet the engine's own spans go through
 * (span-record.ts). Registered only when no provider is registered yet, and
 * not at all with OTEL_SDK_DISABLED=true. Library users keep their own setup; they may add
 * TaskerIdGenerator to it so task spans keep the ids their steps point to.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  type Resource,
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  processDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  RandomIdGenerator,
  type IdGenerator,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-node';
import { packageInfo } from '../package-root.js';
import { takeForcedSpanId, takeForcedTraceId } from './forced-ids.js';
import { batchSettings, OtlpSpanOutlet } from './otlp-span-outlet.js';
import { registerSpanOutlet } from './span-record.js';

/** Random ids, except for the engine's task spans (whose ids were fixed when their steps ran). */
export class TaskerIdGenerator implements IdGenerator {
  constructor(private readonly fallback: IdGenerator = new RandomIdGenerator()) {}

  generateTraceId(): string {
    return takeForcedTraceId() ?? this.fallback.generateTraceId();
  }

  generateSpanId(): string {
    return takeForcedSpanId() ?? this.fallback.generateSpanId();
  }
}

export interface TracingSetup {
  provider: NodeTracerProvider;
  /** Resolves once every span ended so far (the engine's and the host's) is exported. */
  flush(): Promise<void>;
  /** Flushes pending spans and stops the exporters. */
  shutdown(): Promise<void>;
}

/** What the provider and the engine's span outlet are built from. */
export interface ProviderOptions {
  serviceName: string;
  serviceVersion?: string | undefined;
  /** OTLP/HTTP traces URL; default: the OTEL_EXPORTER_OTLP_* variables. */
  endpoint?: string | undefined;
}

function buildResource(o: ProviderOptions): Resource {
  const attrs: Record<string, string> = { 'service.name': o.serviceName };
  if (o.serviceVersion) attrs['service.version'] = o.serviceVersion;
  return defaultResource()
    .merge(detectResources({ detectors: [hostDetector, processDetector, envDetector] }))
    .merge(resourceFromAttributes(attrs));
}

function buildProvider(o: ProviderOptions, resource: Resource, exporter?: SpanExporter): NodeTracerProvider {
  return new NodeTracerProvider({
    // Which tasks are traced is decided once per task by telemetry.trace_sampling_rate (which reads
    // OTEL_TRACES_SAMPLER_ARG), the same way in every process; the SDK's own ratio sampler would decide
    // the task span and the step spans differently. Spans under a caller's unsampled parent stay off.
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    resource,
    idGenerator: new TaskerIdGenerator(),
    spanProcessors: [
      new BatchSpanProcessor(
        exporter ?? new OTLPTraceExporter(o.endpoint === undefined ? {} : { url: o.endpoint }),
        batchSettings(),
      ),
    ],
  });
}

/**
 * The provider the host's own instrumentation (and handlers' child spans) use, registered globally; and,
 * unless an exporter object is given, the outlet the engine's own spans go through (span-record.ts).
 */
export function setupTracing(o: {
  serviceName?: string | undefined;
  serviceVersion?: string | undefined;
  /** OTLP/HTTP traces URL; default: the OTEL_EXPORTER_OTLP_* variables. */
  endpoint?: string | undefined;
  /** For tests: an SDK exporter for every span, the engine's included (no outlet: live SDK spans). */
  exporter?: SpanExporter | undefined;
}): TracingSetup | null {
  if ((process.env.OTEL_SDK_DISABLED ?? '').toLowerCase() === 'true') return null;
  const options: ProviderOptions = {
    // OTEL_SERVICE_NAME wins over the config file, as the OpenTelemetry spec says.
    serviceName: process.env.OTEL_SERVICE_NAME ?? o.serviceName ?? 'tasker',
    serviceVersion: o.serviceVersion,
    endpoint: o.endpoint,
  };
  const resource = buildResource(options);
  const provider = buildProvider(options, resource, o.exporter);
  if (!trace.setGlobalTracerProvider(provider)) {
    // Someone registered a provider first: theirs stays.
    void provider.shutdown();
    return null;
  }
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const outlet = o.exporter
    ? undefined
    : new OtlpSpanOutlet({
        resource: () => resource.attributes,
        scope: { name: 'tasker-engine', version: packageInfo().version },
        endpoint: o.endpoint,
      });
  if (outlet) registerSpanOutlet(provider, outlet);
  return {
    provider,
    flush: async () => {
      await Promise.all([outlet?.flush(), provider.forceFlush()]);
    },
    shutdown: async () => {
      try {
        await outlet?.shutdown();
      } finally {
        await provider.shutdown();
      }
    },
  };
}
