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

/**
 * The attempts of one step of one template that took `durationMs`: a duration histogram, which the store
 * aggregates in SQL (store/analytics-sql.ts), so percentiles are exact without any attempt reaching Node.
 */
export interface StepDurationRow {
  namespace: string;
  name: string;
  step: string;
  durationMs: number;
  attempts: number;
  /** Attempts that failed (retried or final). */
  failed: number;
  timeouts: number;
  /**
   * First attempts: each step (task × step) that ran has exactly one, since attempt numbers start at 1
   * and are never reset, so their sum over a step's rows is its executions.
   */
  executions: number;
}

const groupKey = (r: { namespace: string; name: string; step: string }) =>
  JSON.stringify([r.namespace, r.name, r.step]);

/** Nearest-rank percentile of a histogram sorted by value: the same rank `percentile` takes. */
function histogramPercentile(rows: readonly StepDurationRow[], total: number, p: number): number {
  if (total === 0) return 0;
  const rank = Math.min(total, Math.max(1, Math.ceil((p / 100) * total)));
  let seen = 0;
  for (const r of rows) {
    seen += r.attempts;
    if (seen >= rank) return r.durationMs;
  }
  return rows[rows.length - 1]?.durationMs ?? 0;
}

/** The report from duration histograms and execution counts, ranked by total time. */
export function statsFromHistogram(durations: readonly StepDurationRow[]): StepStats[] {
  const groups = new Map<string, StepDurationRow[]>();
  for (const r of durations) {
    const k = groupKey(r);
    const list = groups.get(k);
    if (list) list.push(r);
    else groups.set(k, [r]);
  }
  const rows = [...groups.values()].map((list): StepStats => {
    list.sort((a, b) => a.durationMs - b.durationMs);
    const first = list[0] as StepDurationRow;
    let attempts = 0;
    let failed = 0;
    let timeouts = 0;
    let totalMs = 0;
    let ran = 0;
    for (const r of list) {
      ran += r.executions;
      attempts += r.attempts;
      failed += r.failed;
      timeouts += r.timeouts;
      totalMs += r.durationMs * r.attempts;
    }
    return {
      namespace: first.namespace,
      name: first.name,
      step: first.step,
      attempts,
      executions: ran,
      p50Ms: histogramPercentile(list, attempts, 50),
      p95Ms: histogramPercentile(list, attempts, 95),
      p99Ms: histogramPercentile(list, attempts, 99),
      totalMs,
      failureRate: attempts ? failed / attempts : 0,
      retryRate: ran ? (attempts - ran) / ran : 0,
      timeouts,
      shareOfTime: 0,
    };
  });
  const total = rows.reduce((s, r) => s + r.totalMs, 0);
  for (const r of rows) r.shareOfTime = total > 0 ? r.totalMs / total : 0;
  return rows.sort((a, b) => b.totalMs - a.totalMs || a.step.localeCompare(b.step));
}

/** The same report from tasks and attempts held in memory (grouped here as the store groups them in SQL). */
export function stepStats(tasks: readonly TaskRecord[], attempts: readonly AttemptRecord[]): StepStats[] {
  const taskById = new Map(tasks.map((t) => [t.id, t]));
  const histogram = new Map<string, StepDurationRow>();
  for (const a of attempts) {
    const t = taskById.get(a.taskId);
    if (!t) continue;
    const hk = JSON.stringify([t.namespace, t.name, a.stepName, a.durationMs]);
    let h = histogram.get(hk);
    if (!h) {
      h = {
        namespace: t.namespace,
        name: t.name,
        step: a.stepName,
        durationMs: a.durationMs,
        attempts: 0,
        failed: 0,
        timeouts: 0,
        executions: 0,
      };
      histogram.set(hk, h);
    }
    h.attempts += 1;
    if (a.outcome === 'retry' || a.outcome === 'error') h.failed += 1;
    if (a.errorType === ENGINE_ERROR_TYPES.timeout) h.timeouts += 1;
    if (a.attempt === 1) h.executions += 1;
  }
  return statsFromHistogram([...histogram.values()]);
}
