import { describe, expect, it } from 'vitest';
import { throttle } from '../src/lib/throttle';

function fakeClock() {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  return {
    clock: {
      now: () => now,
      setTimer: (fn: () => void, ms: number) => {
        const t = { at: now + ms, fn };
        timers.push(t);
        return t;
      },
      clearTimer: (h: unknown) => {
        timers = timers.filter((t) => t !== h);
      },
    },
    advance(ms: number) {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      due.forEach((t) => t.fn());
    },
  };
}

describe('throttle', () => {
  it('runs the first call at once and folds a burst into one trailing call', () => {
    const c = fakeClock();
    let calls = 0;
    const t = throttle(() => calls++, 1000, c.clock);
    t();
    expect(calls).toBe(1);
    for (let i = 0; i < 20; i++) {
      c.advance(40);
      t();
    }
    expect(calls).toBe(1);
    c.advance(1000);
    expect(calls).toBe(2); // the burst's last change is fetched
    c.advance(5000);
    expect(calls).toBe(2);
  });

  it('never runs more than once per interval under a steady stream of calls', () => {
    const c = fakeClock();
    let calls = 0;
    const t = throttle(() => calls++, 1000, c.clock);
    for (let i = 0; i < 100; i++) {
      t();
      c.advance(100);
    }
    expect(calls).toBeGreaterThanOrEqual(10);
    expect(calls).toBeLessThanOrEqual(11);
  });

  it('can be cancelled', () => {
    const c = fakeClock();
    let calls = 0;
    const t = throttle(() => calls++, 1000, c.clock);
    t();
    t();
    t.cancel();
    c.advance(2000);
    expect(calls).toBe(1);
  });
});
