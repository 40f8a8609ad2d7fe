/** Sums and scales for the overview's throughput chart (series aligned with `buckets`). */
import type { ThroughputSeries } from '../api/types';

export interface Counts {
  created: number[];
  completed: number[];
  failed: number[];
}

export function seriesKey(s: { namespace: string; name: string }): string {
  return `${s.namespace}.${s.name}`;
}

/** Element-wise sum of the selected series (all of them when `key` is null). */
export function sumSeries(series: ThroughputSeries[], length: number, key: string | null): Counts {
  const out: Counts = {
    created: new Array<number>(length).fill(0),
    completed: new Array<number>(length).fill(0),
    failed: new Array<number>(length).fill(0),
  };
  for (const s of series) {
    if (key !== null && seriesKey(s) !== key) continue;
    for (const field of ['created', 'completed', 'failed'] as const) {
      const values = s[field];
      for (let i = 0; i < length; i++) out[field][i] = (out[field][i] ?? 0) + (values[i] ?? 0);
    }
  }
  return out;
}

export function total(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** A round upper bound for an axis: 1, 2, 5 × 10^n at or above the largest value. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const exp = Math.floor(Math.log10(max));
  const base = 10 ** exp;
  for (const m of [1, 2, 5, 10]) if (m * base >= max) return m * base;
  return 10 * base;
}
