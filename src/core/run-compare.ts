/**
 * One run of a workflow against a good one, step by step: status, attempts, queue wait, execution time,
 * retry backoff, where it ran, the error, and hashes of what each step saw and returned (values never
 * leave redaction: two runs are told apart by digest only). Then the largest differences, in words. Pure.
 */
import { createHash } from 'node:crypto';
import { formatSeconds } from './analysis.js';
import type { AttemptRecord, StepRecord, TaskRecord } from './records.js';

export interface RunInput {
  task: TaskRecord;
  steps: readonly StepRecord[];
  attempts: readonly AttemptRecord[];
}

export interface StepRun {
  status: StepRecord['status'];
  attempts: number;
  queueWaitMs: number;
  executionMs: number;
  backoffMs: number;
  workers: string[];
  hosts: string[];
  errorType: string | null;
  error: string | null;
  inputHash: string;
  resultsHash: string | null;
}

export type CompareField =
  'status' | 'attempts' | 'execution' | 'queue_wait' | 'backoff' | 'host' | 'error' | 'input' | 'results';

export interface StepComparison {
  name: string;
  changed: CompareField[];
  run: StepRun;
  baseline: StepRun | null;
}

export interface Difference {
  step: string;
  fields: CompareField[];
  text: string;
  score: number;
}

export interface RunComparison {
  steps: StepComparison[];
  differences: Difference[];
}

/** Canonical JSON (keys sorted), so equal values hash equal whatever order their keys were written in. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

export function digest(v: unknown): string {
  return createHash('sha256').update(canonical(v)).digest('hex').slice(0, 12);
}

export function stepRun(
  run: RunInput,
  step: StepRecord,
  hostOf: (workerId: string) => string | null,
): StepRun {
  const attempts = run.attempts.filter((a) => a.stepName === step.name).sort((a, b) => a.attempt - b.attempt);
  let queueWaitMs = 0;
  let backoffMs = 0;
  for (const [i, a] of attempts.entries()) {
    if (a.queuedAt !== null) queueWaitMs += Math.max(0, a.startedAt - a.queuedAt);
    const prev = attempts[i - 1];
    // Between a failed attempt's end and the retry becoming claimable: the backoff.
    if (prev && a.queuedAt !== null) backoffMs += Math.max(0, a.queuedAt - prev.finishedAt);
  }
  const workers = [...new Set(attempts.map((a) => a.workerId).filter((w): w is string => w !== null))];
  const lastFailure = [...attempts].reverse().find((a) => a.errorMessage !== null);
  const byName = new Map(run.steps.map((s) => [s.name, s]));
  // What the step saw: the task's context and the results of the steps it depends on.
  const input = {
    context: run.task.context,
    dependencies: Object.fromEntries(step.dependsOn.map((d) => [d, byName.get(d)?.results ?? null])),
  };
  return {
    status: step.status,
    attempts: attempts.length,
    queueWaitMs,
    executionMs: attempts.reduce((n, a) => n + a.durationMs, 0),
    backoffMs,
    workers,
    hosts: [...new Set(workers.map(hostOf).filter((h): h is string => h !== null))],
    errorType: step.errorType ?? lastFailure?.errorType ?? null,
    error: step.errorMessage ?? lastFailure?.errorMessage ?? null,
    inputHash: digest(input),
    resultsHash: step.results === null || step.results === undefined ? null : digest(step.results),
  };
}

const STATUS_WORD: Partial<Record<StepRecord['status'], string>> = {
  complete: 'completed',
  error: 'failed',
  resolved_manually: 'resolved by hand',
  waiting_for_retry: 'waiting to retry',
  in_progress: 'running',
};
const word = (s: StepRecord['status']) => STATUS_WORD[s] ?? s;

/** A duration that differs enough to mention: both ways, by at least 0.1 s and by half. */
function timing(
  label: string,
  field: CompareField,
  a: number,
  b: number,
): { field: CompareField; text: string; score: number } | null {
  const diff = Math.abs(a - b);
  if (diff < 100) return null;
  const lo = Math.max(Math.min(a, b), 10);
  const ratio = Math.max(a, b) / lo;
  if (ratio < 1.5) return null;
  const times = ratio >= 10 ? Math.round(ratio) : Math.round(ratio * 10) / 10;
  return {
    field,
    text: `${label} ${formatSeconds(a / 1000)} vs ${formatSeconds(b / 1000)} (×${times}${a < b ? ' faster' : ''})`,
    score: (diff / 1000) * Math.log2(ratio) + 1,
  };
}

/**
 * Inputs and results differ between any two orders: they are marked changed, but narrated only next to
 * a difference that matters (time, status, attempts, host, error).
 * @param hostOf the host a worker ran on (the worker registry), or null when unknown
 */
export function compareRuns(
  run: RunInput,
  baseline: RunInput | null,
  hostOf: (workerId: string) => string | null,
): RunComparison {
  const baseSteps = new Map((baseline?.steps ?? []).map((s) => [s.name, s]));
  const goodHosts = new Set<string>();
  const baseRuns = new Map<string, StepRun>();
  if (baseline) {
    for (const s of baseline.steps) {
      const r = stepRun(baseline, s, hostOf);
      baseRuns.set(s.name, r);
      for (const h of r.hosts) goodHosts.add(h);
    }
  }
  const steps: StepComparison[] = [];
  const differences: Difference[] = [];
  for (const s of [...run.steps].sort((a, b) => a.position - b.position)) {
    const mine = stepRun(run, s, hostOf);
    const base = baseSteps.has(s.name) ? (baseRuns.get(s.name) ?? null) : null;
    if (!base) {
      steps.push({ name: s.name, changed: [], run: mine, baseline: null });
      if (baseline)
        differences.push({
          step: s.name,
          fields: [],
          text: `${s.name} is not in the baseline run`,
          score: 1,
        });
      continue;
    }
    const notes: Array<{ field: CompareField; text: string; score: number }> = [];
    if (mine.status !== base.status) {
      const why = mine.errorType ? ` (${mine.errorType})` : '';
      notes.push({ field: 'status', text: `${word(mine.status)}${why} vs ${word(base.status)}`, score: 100 });
    }
    const t = [
      timing('execution', 'execution', mine.executionMs, base.executionMs),
      timing('queue wait', 'queue_wait', mine.queueWaitMs, base.queueWaitMs),
      timing('retry backoff', 'backoff', mine.backoffMs, base.backoffMs),
    ];
    for (const x of t) if (x) notes.push(x);
    if (mine.attempts !== base.attempts) {
      notes.push({
        field: 'attempts',
        text: `${mine.attempts} attempts vs ${base.attempts}`,
        score: 10 * Math.abs(mine.attempts - base.attempts),
      });
    }
    const newHosts = mine.hosts.filter((h) => !goodHosts.has(h));
    if (newHosts.length > 0 && goodHosts.size > 0) {
      notes.push({
        field: 'host',
        text: `ran on ${newHosts.length === 1 ? 'a host' : 'hosts'} (${newHosts.join(', ')}) that ran no good run`,
        score: 5,
      });
    }
    if (mine.error !== base.error && mine.error !== null)
      notes.push({ field: 'error', text: `error "${mine.error}"`, score: 4 });
    if (mine.inputHash !== base.inputHash)
      notes.push({ field: 'input', text: 'saw different inputs', score: 3 });
    if (mine.resultsHash !== base.resultsHash && mine.resultsHash !== null && base.resultsHash !== null)
      notes.push({ field: 'results', text: 'returned different results', score: 2 });
    const changed = notes.map((n) => n.field);
    steps.push({ name: s.name, changed, run: mine, baseline: base });
    if (notes.some((n) => n.field !== 'input' && n.field !== 'results')) {
      notes.sort((a, b) => b.score - a.score);
      differences.push({
        step: s.name,
        fields: changed,
        text: `${s.name} ${notes.map((n) => n.text).join('; ')}`,
        score: notes.reduce((m, n) => Math.max(m, n.score), 0),
      });
    }
  }
  differences.sort((a, b) => b.score - a.score);
  return { steps, differences };
}
