/**
 * The gauges that describe the whole store (tasks in progress, the ready backlog), read at scrape time: use
 * max() across processes. One store read a second serves every scraper; a store that does not answer keeps
 * the last values and is counted, rather than failing the whole scrape.
 */
import { Counter, Gauge, type Registry, type RegistryContentType } from 'prom-client';

export interface StoreGauges {
  inProgress: Array<{ namespace: string; name: string; count: number }>;
  ready: Array<{ namespace: string; count: number }>;
}

/**
 * `read`, called at most once a second however many gauges and scrapers ask; a failed read answers with the
 * last value read (`initial` before any) and calls `onError`.
 */
export function atMostEverySecond<T>(
  read: () => Promise<T>,
  initial: T,
  onError: () => void,
): () => Promise<T> {
  let last = initial;
  let cached: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at > 1000)
      cached = {
        at: now,
        value: read().then(
          (v) => (last = v),
          () => {
            onError();
            return last;
          },
        ),
      };
    return cached.value;
  };
}

export function registerStoreGauges(
  registry: Registry<RegistryContentType>,
  p: string,
  read: () => Promise<StoreGauges>,
  /** Registered templates: "nothing running" is a value (0), not a missing series. */
  known: () => ReadonlyArray<{ namespace: string; name: string }>,
): void {
  const registers = [registry];
  const readErrors = new Counter({
    name: `${p}_metrics_store_read_errors_total`,
    help: 'Scrapes whose store read for the tasks_in_progress/steps_ready gauges failed (last values kept)',
    registers,
  });
  const gauges = atMostEverySecond(read, { inProgress: [], ready: [] }, () => readErrors.inc());
  new Gauge({
    name: `${p}_tasks_in_progress`,
    help: 'Tasks started and not finished, in the whole store',
    labelNames: ['namespace', 'name'],
    registers,
    async collect() {
      const counts = await gauges();
      this.reset();
      for (const s of known()) this.set({ namespace: s.namespace, name: s.name }, 0);
      for (const r of counts.inProgress) this.set({ namespace: r.namespace, name: r.name }, r.count);
    },
  });
  new Gauge({
    name: `${p}_steps_ready`,
    help: 'Steps ready to run and not yet claimed (the backlog), in the whole store',
    labelNames: ['namespace'],
    registers,
    async collect() {
      const counts = await gauges();
      this.reset();
      for (const s of known()) this.set({ namespace: s.namespace }, 0);
      for (const r of counts.ready) this.set({ namespace: r.namespace }, r.count);
    },
  });
}
