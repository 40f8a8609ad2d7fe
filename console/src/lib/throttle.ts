/**
 * At most one call per interval, the first at once and the last never lost: while stream events arrive,
 * the overview refetches once a second, and the final state is always fetched.
 */
export interface Throttled {
  (): void;
  cancel(): void;
}

export interface ThrottleClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

const realClock: ThrottleClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export function throttle(fn: () => void, intervalMs: number, clock: ThrottleClock = realClock): Throttled {
  let last = -Infinity;
  let timer: unknown = null;
  const run = () => {
    timer = null;
    last = clock.now();
    fn();
  };
  const throttled = (() => {
    if (timer !== null) return; // a trailing call is already scheduled and will see this change
    const wait = last + intervalMs - clock.now();
    if (wait <= 0) run();
    else timer = clock.setTimer(run, wait);
  }) as Throttled;
  throttled.cancel = () => {
    if (timer !== null) clock.clearTimer(timer);
    timer = null;
  };
  return throttled;
}
