/**
 * Counters and histograms for the per-step metric families, registered into the prom-client registry as
 * custom metrics (the registry reads them at scrape through get(), as it does its own). prom-client
 * validates and hashes a label set on every inc() and observe(), even through a bound child (labels()
 * binds the label object, not its hash): a few microseconds a call, several calls a step. Here a child
 * holds its own numbers, and counting is arithmetic.
 */
import type { Metric, Registry, RegistryContentType } from 'prom-client';

type Labels = Record<string, string>;

export interface CounterChild {
  inc(by?: number): void;
}

export interface HistogramChild {
  observe(value: number): void;
}

interface MetricValueOut {
  labels: Labels;
  value: number;
  metricName?: string;
}

abstract class FastMetric<C> {
  readonly aggregator = 'sum';
  protected readonly children = new Map<string, { labels: Labels; child: C }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    registers: ReadonlyArray<Registry<RegistryContentType>>,
  ) {
    for (const r of registers) r.registerMetric(this as unknown as Metric);
  }

  protected abstract make(): C;

  /** A child by label values in labelNames order, or by a label object (absent labels are left out). */
  labels(...args: [Labels] | string[]): C {
    const first = args[0];
    const labels: Labels = {};
    if (typeof first === 'object') {
      for (const n of this.labelNames) if (first[n] !== undefined) labels[n] = first[n];
    } else this.labelNames.forEach((n, i) => (labels[n] = (args as string[])[i] ?? ''));
    const key = this.labelNames.map((n) => labels[n] ?? '\u0001').join('\u0000');
    let entry = this.children.get(key);
    if (!entry) {
      entry = { labels, child: this.make() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  protected abstract values(): MetricValueOut[];

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValueOut[] }> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.values(),
    });
  }

  abstract readonly type: string;
  abstract reset(): void;
}

class CounterValue implements CounterChild {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class FastCounter extends FastMetric<CounterValue> {
  readonly type = 'counter';
  protected make(): CounterValue {
    return new CounterValue();
  }
  protected values(): MetricValueOut[] {
    return [...this.children.values()].map((e) => ({ labels: e.labels, value: e.child.value }));
  }
  reset(): void {
    for (const e of this.children.values()) e.child.value = 0;
  }
}

class HistogramValue implements HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(value: number): void {
    if (!Number.isFinite(value)) return; // prom-client throws; a metric must never fail a step
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= (b[i] as number)) {
        this.counts[i] = (this.counts[i] as number) + 1;
        break;
      }
    }
    this.sum += value;
    this.count += 1;
  }
}

export class FastHistogram extends FastMetric<HistogramValue> {
  readonly type = 'histogram';
  private readonly bounds: readonly number[];

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
    registers: ReadonlyArray<Registry<RegistryContentType>>,
  ) {
    super(name, help, labelNames, registers);
    this.bounds = [...buckets].sort((a, b) => a - b);
  }

  protected make(): HistogramValue {
    return new HistogramValue(this.bounds);
  }

  /** As prom-client writes a histogram: cumulative buckets, +Inf, sum and count per label set. */
  protected values(): MetricValueOut[] {
    const out: MetricValueOut[] = [];
    for (const { labels, child } of this.children.values()) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += child.counts[i] ?? 0;
        out.push({ labels: { ...labels, le: String(le) }, value: acc, metricName: `${this.name}_bucket` });
      });
      out.push({ labels: { ...labels, le: '+Inf' }, value: child.count, metricName: `${this.name}_bucket` });
      out.push({ labels, value: child.sum, metricName: `${this.name}_sum` });
      out.push({ labels, value: child.count, metricName: `${this.name}_count` });
    }
    return out;
  }

  reset(): void {
    for (const { child } of this.children.values()) {
      child.counts.fill(0);
      child.sum = 0;
      child.count = 0;
    }
  }
}
