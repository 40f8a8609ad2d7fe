/**
 * Prometheus metrics with the seed's names, fed by the engine's events (an adapter on the bus, never in
 * the core). Labels come from templates only — namespace, name, version, step, status, error type — never
 * a task id, correlation id or context value. Each process counts what it committed; Prometheus sums the
 * processes.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { StepEventPayload, TaskEventPayload, TaskerEvent } from '../events/catalog.js';
import type { EventBus } from '../events/bus.js';

/** 1 ms … 10 min. */
export const DURATION_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
];

const TERMINAL: Record<string, string> = {
  'task.completed': 'completed',
  'task.failed': 'failed',
  'task.cancelled': 'cancelled',
  'task.resolved_manually': 'resolved_manually',
};
const STEP_END: Record<string, string> = {
  'step.completed': 'completed',
  'step.failed': 'failed',
  'step.retry_scheduled': 'retried',
  'step.cancelled': 'cancelled',
  'step.resolved_manually': 'resolved_manually',
};

export interface EngineMetricsOptions {
  registry: Registry;
  /** @default 'tasker' */
  prefix?: string;
  version: string;
}

export function attachEngineMetrics(bus: EventBus, o: EngineMetricsOptions): () => void {
  const p = o.prefix ?? 'tasker';
  const registers = [o.registry];
  const tasks = new Counter({
    name: `${p}_tasks_total`,
    help: 'Tasks that reached a terminal state',
    labelNames: ['namespace', 'name', 'version', 'status'],
    registers,
  });
  const taskDuration = new Histogram({
    name: `${p}_task_duration_seconds`,
    help: 'Task duration from creation to its terminal state',
    labelNames: ['namespace', 'name', 'status'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const steps = new Counter({
    name: `${p}_steps_total`,
    help: 'Step attempts that ended, by outcome',
    labelNames: ['namespace', 'name', 'step', 'status'],
    registers,
  });
  const stepDuration = new Histogram({
    name: `${p}_step_duration_seconds`,
    help: 'Step attempt duration',
    labelNames: ['namespace', 'name', 'step', 'status'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const retries = new Counter({
    name: `${p}_step_retries_total`,
    help: 'Step attempts that failed and were scheduled for another attempt',
    labelNames: ['namespace', 'name', 'step', 'error_type'],
    registers,
  });
  const timeouts = new Counter({
    name: `${p}_step_timeouts_total`,
    help: 'Step attempts that exceeded their timeout',
    labelNames: ['namespace', 'name', 'step'],
    registers,
  });
  const inProgress = new Gauge({
    name: `${p}_tasks_in_progress`,
    help: 'Tasks started and not yet finished, as seen by this process',
    labelNames: ['namespace', 'name'],
    registers,
  });
  new Gauge({
    name: `${p}_build_info`,
    help: 'tasker-engine version',
    labelNames: ['version'],
    registers,
  }).set({ version: o.version }, 1);

  const started = new Map<string, number>();
  const onEvent = (e: TaskerEvent) => {
    const base = e.payload;
    const ns = base.namespace_name;
    const name = base.task_name;
    if (e.name === 'task.started') {
      const key = JSON.stringify([ns, name]);
      const open = (started.get(key) ?? 0) + 1;
      started.set(key, open);
      inProgress.set({ namespace: ns, name }, open);
      return;
    }
    const terminal = TERMINAL[e.name];
    if (terminal) {
      const t = e.payload as TaskEventPayload;
      tasks.inc({ namespace: ns, name, version: base.task_version, status: terminal });
      if (typeof t.execution_duration_seconds === 'number')
        taskDuration.observe({ namespace: ns, name, status: terminal }, t.execution_duration_seconds);
      // Only tasks this process saw start are counted down (a task cancelled while pending never started).
      const key = JSON.stringify([ns, name]);
      const open = started.get(key) ?? 0;
      if (open > 0) {
        started.set(key, open - 1);
        inProgress.set({ namespace: ns, name }, open - 1);
      }
      return;
    }
    const s = e.payload as StepEventPayload;
    if (e.name === 'step.timed_out') {
      timeouts.inc({ namespace: ns, name, step: s.step_name });
      return;
    }
    const status = STEP_END[e.name];
    if (!status) return;
    steps.inc({ namespace: ns, name, step: s.step_name, status });
    if (typeof s.execution_duration_seconds === 'number')
      stepDuration.observe({ namespace: ns, name, step: s.step_name, status }, s.execution_duration_seconds);
    if (e.name === 'step.retry_scheduled')
      retries.inc({ namespace: ns, name, step: s.step_name, error_type: s.error_type ?? 'unknown' });
  };
  return bus.subscribe(
    ['task.started', ...Object.keys(TERMINAL), ...Object.keys(STEP_END), 'step.timed_out'],
    onEvent,
    { name: 'prometheus-metrics' },
  );
}
