/**
 * A task's SLA in Prometheus: tasker_task_sla_seconds{namespace, name} (what the TaskerTaskSlaBreached rule
 * compares with, and what a dashboard draws as a line) and tasker_task_sla_breaches_total, the tasks that
 * reached an end later than their SLA after they were created. Cancelled tasks are not breaches: nobody was
 * waiting for them any more.
 */
import { Counter, Gauge, type Registry, type RegistryContentType } from 'prom-client';
import type { TaskTemplate } from '../core/template.js';
import type { TaskEventPayload } from '../events/catalog.js';

type SlaFacts = Pick<TaskTemplate, 'namespace' | 'name' | 'slaSeconds' | 'critical'>;

export interface TaskSlaMetrics {
  /** A task reached a terminal event (its payload carries created_at). */
  finished(template: SlaFacts, payload: TaskEventPayload): void;
}

export function attachTaskSla(
  registry: Registry<RegistryContentType>,
  p: string,
  templates: () => readonly SlaFacts[],
): TaskSlaMetrics {
  const registers = [registry];
  new Gauge({
    name: `${p}_task_sla_seconds`,
    help: "Each task template's SLA (sla_seconds, or Tasker's handler_config.monitoring.sla_seconds)",
    labelNames: ['namespace', 'name'],
    registers,
    collect() {
      this.reset();
      // Several versions may be registered: the most lenient SLA counts, as for tasker_step_sla_seconds.
      const max = new Map<string, { namespace: string; name: string; v: number }>();
      for (const t of templates()) {
        if (t.slaSeconds === undefined) continue;
        const key = `${t.namespace}\u0000${t.name}`;
        const cur = max.get(key);
        if (!cur || t.slaSeconds > cur.v)
          max.set(key, { namespace: t.namespace, name: t.name, v: t.slaSeconds });
      }
      for (const { namespace, name, v } of max.values()) this.set({ namespace, name }, v);
    },
  });
  const breaches = new Counter({
    name: `${p}_task_sla_breaches_total`,
    help: 'Tasks that completed, failed or were resolved later than their SLA after they were created',
    labelNames: ['namespace', 'name', 'critical'],
    registers,
  });
  const labels = (t: SlaFacts) =>
    t.critical
      ? { namespace: t.namespace, name: t.name, critical: 'true' }
      : { namespace: t.namespace, name: t.name };
  // A series at 0 from the start, so increase() sees the first breach of a process.
  for (const t of templates()) if (t.slaSeconds !== undefined) breaches.inc(labels(t), 0);
  return {
    finished(t, payload) {
      if (t.slaSeconds === undefined || payload.status === 'cancelled' || !payload.created_at) return;
      const elapsed = (Date.parse(payload.timestamp) - Date.parse(payload.created_at)) / 1000;
      if (elapsed > t.slaSeconds) breaches.inc(labels(t));
    },
  };
}
