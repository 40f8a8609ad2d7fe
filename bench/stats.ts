/** Small numeric helpers for the benchmark: percentiles, run summaries, a peak-RSS sampler. */
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/** Nearest-rank percentile of an ascending array (p in 0..100). NaN for an empty array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  const i = Math.min(sorted.length - 1, Math.max(0, rank - 1));
  return sorted[i] ?? Number.NaN;
}

export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** Median (mean of the middle two for an even count), min and max of per-run figures. */
export function summarize(values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  const mid = Math.floor(n / 2);
  const median =
    n === 0 ? Number.NaN : n % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
  return { median, min: s[0] ?? Number.NaN, max: s[n - 1] ?? Number.NaN, runs: values };
}

export const median = (values: number[]): number => summarize(values).median;

/** en-US grouping with `d` decimals; `n/a` for NaN and infinities. */
/**
 * Same-run comparisons: every variant once per run, the order reversed every other run so the machine's
 * drift favours none. Returns each variant's figures (by key), one per run.
 */
export async function alternate<V extends { key: string }>(
  variants: readonly V[],
  runs: number,
  measure: (variant: V, run: number) => Promise<number>,
): Promise<Map<string, number[]>> {
  const got = new Map<string, number[]>(variants.map((v) => [v.key, []]));
  for (let i = 0; i < runs; i++) {
    for (const v of i % 2 === 0 ? variants : [...variants].reverse())
      got.get(v.key)?.push(await measure(v, i));
  }
  return got;
}

/** Throughput lost against a baseline measured in the same runs, %: per run, and the median of those. */
export function lossAgainst(
  xs: readonly number[],
  base: readonly number[],
): { lossPct: number[]; medianLossPct: number } {
  const lossPct = xs.map((x, k) => (1 - x / (base[k] ?? NaN)) * 100);
  return { lossPct, medianLossPct: median(lossPct) };
}

/** A variant of a same-run comparison: its figures, and its loss against its baseline if it has one. */
export interface VariantFigures {
  label: string;
  stepsPerSec: number[];
  median: number;
  lossPct?: number[] | undefined;
  medianLossPct?: number | undefined;
}

export function variantFigures(
  v: { key: string; label: string; baseline?: string | undefined },
  got: ReadonlyMap<string, number[]>,
): VariantFigures {
  const xs = got.get(v.key) ?? [];
  const base = v.baseline ? (got.get(v.baseline) ?? []) : undefined;
  return { label: v.label, stepsPerSec: xs, median: median(xs), ...(base ? lossAgainst(xs, base) : {}) };
}

/** `; lost 2.2 % (per run 1.4, 6.7, …)`, or nothing for a variant without a baseline. */
export function lossText(v: Pick<VariantFigures, 'lossPct' | 'medianLossPct'>): string {
  return v.medianLossPct === undefined
    ? ''
    : `; lost ${v.medianLossPct.toFixed(1)} % (per run ${(v.lossPct ?? []).map((x) => x.toFixed(1)).join(', ')})`;
}

export function fmt(n: number, d = 0): string {
  return Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
    : 'n/a';
}

const MiB = 1024 * 1024;

/** Samples process RSS every `everyMs` (default 50 ms) and keeps the maximum. */
export class RssSampler {
  private peak = process.memoryUsage.rss();
  private timer: NodeJS.Timeout | undefined;

  start(everyMs = 50): this {
    this.timer = setInterval(() => this.sample(), everyMs);
    return this;
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
  }

  /** Stop sampling; the peak in MiB. */
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return this.peak / MiB;
  }
}

/** Peak RSS of the whole process as the kernel saw it (getrusage maxrss), in MiB. */
export function kernelMaxRssMiB(): number {
  return (process.resourceUsage().maxRSS * 1024) / MiB;
}

export interface GcFigures {
  count: number;
  totalMs: number;
  maxMs: number;
}

/** Counts garbage-collection pauses (perf_hooks 'gc' entries) between start() and stop(). */
export class GcObserver {
  private readonly figures: GcFigures = { count: 0, totalMs: 0, maxMs: 0 };
  private observer: PerformanceObserver | undefined;

  start(): this {
    this.observer = new PerformanceObserver((list) => this.add(list.getEntries()));
    this.observer.observe({ entryTypes: ['gc'] });
    return this;
  }

  stop(): GcFigures {
    if (this.observer) {
      this.add(this.observer.takeRecords());
      this.observer.disconnect();
      this.observer = undefined;
    }
    return { ...this.figures };
  }

  private add(entries: PerformanceEntry[]): void {
    for (const e of entries) {
      this.figures.count += 1;
      this.figures.totalMs += e.duration;
      if (e.duration > this.figures.maxMs) this.figures.maxMs = e.duration;
    }
  }
}
