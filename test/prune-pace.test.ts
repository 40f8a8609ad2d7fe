/** The prune's rest after a batch (core/prune-pace.ts): the pure arithmetic the pruner sleeps by. */
import { describe, expect, it } from 'vitest';
import { MAX_PAUSE_MS, prunePause } from '../src/core/prune-pace.js';

const defaults = { pauseMs: 500, busyShare: 0.05 };

describe('prunePause', () => {
  it('rests at least the pause, and three times the batch while the engine is idle', () => {
    expect(prunePause(10, false, defaults)).toBe(500);
    expect(prunePause(400, false, defaults)).toBe(1200);
  });

  it('while the engine works, rests long enough that the prune takes at most busy_share of the time', () => {
    // 50 ms at 5 %: 950 ms of rest, so 50 of every 1,000 ms.
    expect(prunePause(50, true, defaults)).toBeCloseTo(950, 6);
    const batch = 80;
    const rest = prunePause(batch, true, { pauseMs: 1, busyShare: 0.2 });
    expect(batch / (batch + rest)).toBeCloseTo(0.2, 6);
    // Never shorter than the idle rest: a share above a quarter changes nothing.
    expect(prunePause(100, true, { pauseMs: 1, busyShare: 1 })).toBe(300);
    expect(prunePause(1, true, defaults)).toBe(500);
  });

  it('a pause of 0 turns pacing off; no rest is longer than a minute, or the pause if longer', () => {
    expect(prunePause(1_000, true, { pauseMs: 0, busyShare: 0.05 })).toBe(0);
    expect(prunePause(10_000, true, defaults)).toBe(MAX_PAUSE_MS);
    expect(prunePause(10_000, false, defaults)).toBe(30_000);
    expect(prunePause(10, false, { pauseMs: 60_000, busyShare: 0.05 })).toBe(60_000);
  });
});
