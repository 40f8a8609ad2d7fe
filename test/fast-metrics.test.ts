/**
 * The per-step metric families count outside prom-client (telemetry/fast-metrics.ts): what a scrape reads
 * must be what prom-client's own Counter and Histogram would expose for the same calls.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastHistogram } from '../src/telemetry/fast-metrics.js';

/** Scrape lines with each line's labels sorted, so label order does not matter. */
async function scrape(r: Registry): Promise<string[]> {
  const text = await r.metrics();
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = /^([^{ ]+)\{([^}]*)\} (.*)$/.exec(l);
      if (!m) return l;
      const labels = (m[2] ?? '').split(',').sort().join(',');
      return `${m[1]}{${labels}} ${m[3]}`;
    })
    .sort();
}

describe('fast counters and histograms', () => {
  it('expose what prom-client exposes for the same calls, and reset as it does', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const buckets = [0.001, 0.01, 0.1, 1, 10];
    const c1 = new Counter({
      name: 'x_total',
      help: 'h',
      labelNames: ['a', 'critical'],
      registers: [theirs],
    });
    const h1 = new Histogram({
      name: 'd_seconds',
      help: 'h',
      labelNames: ['a', 's'],
      buckets,
      registers: [theirs],
    });
    const c2 = new FastCounter('x_total', 'h', ['a', 'critical'], [ours]);
    const h2 = new FastHistogram('d_seconds', 'h', ['a', 's'], buckets, [ours]);

    const values = [0, 0.0005, 0.001, 0.002, 0.05, 0.5, 2, 20, 1e9];
    for (const [i, v] of values.entries()) {
      const a = i % 2 ? 'odd' : 'even';
      h1.labels(a, 'ok').observe(v);
      h2.labels(a, 'ok').observe(v);
      c1.labels({ a }).inc();
      c2.labels({ a }).inc();
      if (i % 3 === 0) {
        c1.labels({ a, critical: 'true' }).inc(2);
        c2.labels({ a, critical: 'true' }).inc(2);
      }
    }
    c1.labels({ a: 'never' }).inc(0);
    c2.labels({ a: 'never' }).inc(0);
    expect(await scrape(ours)).toEqual(await scrape(theirs));
    expect(
      (await scrape(ours)).some((l) => l.startsWith('d_seconds_bucket{a="odd",le="+Inf",s="ok"} 4')),
    ).toBe(true);

    theirs.resetMetrics();
    ours.resetMetrics();
    h1.labels('even', 'ok').observe(0.3);
    h2.labels('even', 'ok').observe(0.3);
    // prom-client forgets the series on reset; ours keeps them at 0 (a series never disappears mid-run)
    const kept = (await scrape(ours)).filter((l) => !/ 0$/.test(l));
    const fresh = (await scrape(theirs)).filter((l) => !/ 0$/.test(l));
    expect(kept).toEqual(fresh);
  });

  it('ignores a value that is not a finite number, as it must never fail a step', async () => {
    const r = new Registry();
    const h = new FastHistogram('d_seconds', 'h', ['a'], [1], [r]);
    h.labels('x').observe(Number.NaN);
    h.labels('x').observe(0.5);
    expect(await r.metrics()).toContain('d_seconds_count{a="x"} 1');
  });
});
