/**
 * Every store operation timed, as Tasker's `slow_query_threshold_seconds` asks: the time of each call of
 * the store port (by method name, a short fixed list) goes to a histogram, and one slower than the
 * threshold is logged and counted, so a slow database shows up beside slow steps.
 */
import type { TaskStore } from '../store/port.js';

export type StoreTimer = (operation: string, seconds: number) => void;

/** The store, with each method call reported to `record` when it settles (resolved or rejected). */
export function timedStore(store: TaskStore, record: StoreTimer): TaskStore {
  // Keyed by the function, not its name: a method replaced on the adapter (a test's spy) is wrapped anew.
  const wrapped = new WeakMap<object, unknown>();
  return new Proxy(store, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      const fn = value as (...args: unknown[]) => unknown;
      let w = wrapped.get(fn);
      if (w === undefined) {
        w = (...args: unknown[]): unknown => {
          const t0 = performance.now();
          const done = () => record(key, (performance.now() - t0) / 1000);
          let out: unknown;
          try {
            // On the adapter itself: its private fields are not reachable through the proxy.
            out = fn.apply(target, args);
          } catch (err) {
            done();
            throw err;
          }
          if (out instanceof Promise) return out.finally(done);
          done();
          return out;
        };
        wrapped.set(fn, w);
      }
      return w;
    },
  });
}
