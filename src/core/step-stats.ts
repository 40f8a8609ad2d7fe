/**
 * Per-step statistics over many tasks' attempts (the bottlenecks report): duration percentiles, failure and
 * retry rates, timeouts, and each step's share of the time all steps took, which ranks them. Pure.
 */
import { ENGINE_ERROR_TYPES } from './outcomes.js';
import type { AttemptRecord, TaskRecord } from './records.js';

export interface StepStats {
  namespace: string;
  name: string;
  step: string;
  attempts: number;
  /** Steps (task × step) that ran at least once. */
  executions: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  totalMs: number;
  /** Failed attempts / attempts. */
  failureRate: number;
  /** Attempts beyond each step's first / executions. */
  retryRate: number;
  timeouts: number;
  /** totalMs / the sum of totalMs over every step reported. */
  shareOfTime: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? 0;
}

export function stepStats(tasks: readonly TaskRecord[], attempts: readonly AttemptRecord[]): StepStats[] {
  const taskById = new Map(tasks.map((t) => [t.id, t]));
  const groups = new Map<string, { t: TaskRecord; step: string; list: AttemptRecord[] }>();
  for (const a of attempts) {
    const t = taskById.get(a.taskId);
    if (!t) continue;
    const key = JSON.stringify([t.namespace, t.name, a.stepName]);
    const g = groups.get(key);
    if (g) g.list.push(a);
    else groups.set(key, { t, step: a.stepName, list: [a] });
  }
  const rows = [...groups.values()].map(({ t, step, list }) => {
    const durations = list.map((a) => a.durationMs).sort((x, y) => x - y);
    const executions = new Set(list.map((a) => `${a.taskId}:${a.stepId}`)).size;
    const failed = list.filter((a) => a.outcome === 'retry' || a.outcome === 'error').length;
    return {
      namespace: t.namespace,
      name: t.name,
      step,
      attempts: list.length,
      executions,
      p50Ms: percentile(durations, 50),
      p95Ms: percentile(durations, 95),
      p99Ms: percentile(durations, 99),
      totalMs: durations.reduce((s, d) => s + d, 0),
      failureRate: list.length ? failed / list.length : 0,
      retryRate: executions ? (list.length - executions) / executions : 0,
      timeouts: list.filter((a) => a.errorType === ENGINE_ERROR_TYPES.timeout).length,
      shareOfTime: 0,
    };
  });
  const total = rows.reduce((s, r) => s + r.totalMs, 0);
  for (const r of rows) r.shareOfTime = total > 0 ? r.totalMs / total : 0;
  return rows.sort((a, b) => b.totalMs - a.totalMs || a.step.localeCompare(b.step));
}
