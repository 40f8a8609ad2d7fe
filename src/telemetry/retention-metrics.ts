/**
 * Retention's metrics: what pruning deleted (counted where it ran), and the store's size and oldest task
 * (read at scrape time, at most once a second, the last values kept when the store does not answer).
 */
import { Counter, Gauge, type Registry, type RegistryContentType } from 'prom-client';
import type { StoreStats } from '../store/port.js';
import { atMostEverySecond } from './store-gauges.js';

export interface RetentionMetrics {
  /** A prune deleted `byStatus` tasks and `audit` entries. */
  pruned(byStatus: ReadonlyArray<{ status: string; count: number }>, audit: number, at: number): void;
}

export function registerRetentionMetrics(
  registry: Registry<RegistryContentType>,
  p: string,
  read: () => Promise<StoreStats>,
): RetentionMetrics {
  const registers = [registry];
  const tasks = new Counter({
    name: `${p}_pruned_tasks_total`,
    help: 'Finished tasks deleted by retention (with their steps, attempts and transitions), by final status',
    labelNames: ['status'],
    registers,
  });
  const audit = new Counter({
    name: `${p}_pruned_audit_entries_total`,
    help: 'Audit-log entries deleted by retention',
    registers,
  });
  let lastAt: number | undefined;
  new Gauge({
    name: `${p}_last_prune_timestamp_seconds`,
    help: 'When this process last deleted something by retention (unix seconds); absent before that',
    registers,
    collect() {
      this.reset();
      if (lastAt !== undefined) this.set(lastAt / 1000);
    },
  });
  const stats = atMostEverySecond<StoreStats | undefined>(read, undefined, () => {});
  new Gauge({
    name: `${p}_store_size_bytes`,
    help: "Bytes the store's tables and indexes take (PostgreSQL: the schema's relations; SQLite: the file's pages)",
    registers,
    async collect() {
      const s = await stats();
      if (s) this.set(s.bytes);
    },
  });
  new Gauge({
    name: `${p}_oldest_task_timestamp_seconds`,
    help: 'When the oldest task still stored was created (unix seconds); absent with no tasks',
    registers,
    async collect() {
      const s = await stats();
      this.reset();
      if (s?.oldestTaskCreatedAt != null) this.set(s.oldestTaskCreatedAt / 1000);
    },
  });
  return {
    pruned(byStatus, entries, at) {
      for (const { status, count } of byStatus) tasks.inc({ status }, count);
      if (entries > 0) audit.inc(entries);
      lastAt = at;
    },
  };
}
