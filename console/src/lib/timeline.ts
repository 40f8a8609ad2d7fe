/**
 * Turns a task's steps and attempts into Gantt rows: one bar per attempt, each split into backoff (waiting
 * to retry), queue (ready, waiting for a worker) and run (the handler executing). The rules are
 * CONTRACT.md's "Timeline segments per attempt"; the point is that "slow because queued" and "slow
 * because the handler is slow" look different.
 */
import type { Attempt, Step, StepStatus } from '../api/types';
import { parseTime } from './format';

export type SegmentKind = 'backoff' | 'queue' | 'run';

export interface Segment {
  kind: SegmentKind;
  start: number;
  end: number;
  /** Still growing: its end is "now". */
  open: boolean;
}

/** An attempt's outcome (complete, retry, error, cancelled), or running / waiting for an open one. */
export type BarOutcome = string;

export interface Bar {
  step: string;
  attempt: number;
  start: number;
  end: number;
  outcome: BarOutcome;
  segments: Segment[];
  errorType: string | null;
  errorMessage: string | null;
  workerId: string | null;
}

export interface Row {
  step: string;
  status: StepStatus;
  bars: Bar[];
}

export interface Timeline {
  rows: Row[];
  start: number;
  end: number;
  now: number;
}

export interface TimelineInput {
  createdAt: string;
  /** When the task ended; null while it is still open. */
  endedAt: string | null;
  steps: Step[];
  /** Finished attempts, oldest first; undefined when the server did not send them. */
  attempts: Attempt[] | undefined;
  now: number;
}

/**
 * Only a `retry` outcome is followed by a backoff. After `error` the task failed; a later attempt came
 * from an operator's retry, and the time between is the operator's, not a backoff.
 */
const FAILED_OUTCOMES = new Set(['retry']);

function segment(kind: SegmentKind, start: number | null, end: number | null, open = false): Segment | null {
  if (start === null || end === null) return null;
  // A handler can finish within the millisecond it started: keep that run, drop empty waits.
  if (kind === 'run' ? end < start : !(end > start)) return null;
  return { kind, start, end, open };
}

function push(list: Segment[], s: Segment | null): void {
  if (s) list.push(s);
}

function stepEnd(step: Step): number | null {
  return parseTime(step.completed_at ?? step.resolved_at ?? step.failed_at ?? step.cancelled_at ?? null);
}

export function buildTimeline(input: TimelineInput): Timeline {
  const { now, steps } = input;
  const created = parseTime(input.createdAt) ?? now;
  const byStep = new Map<string, Attempt[]>();
  for (const a of input.attempts ?? []) {
    const list = byStep.get(a.step_name) ?? [];
    list.push(a);
    byStep.set(a.step_name, list);
  }
  for (const list of byStep.values()) list.sort((a, b) => a.attempt - b.attempt);

  const stepByName = new Map(steps.map((s) => [s.name, s]));
  /** When a step's work was done, so its dependants became ready (for attempts without queued_at). */
  const finishedAt = (name: string): number | null => {
    const s = stepByName.get(name);
    if (!s) return null;
    const own = stepEnd(s);
    if (own !== null) return own;
    const list = byStep.get(name);
    const last = list?.[list.length - 1];
    return last && last.outcome === 'complete' ? parseTime(last.finished_at) : null;
  };
  const readyFromDeps = (step: Step): number => {
    let ready = created;
    for (const dep of step.depends_on) {
      const t = finishedAt(dep);
      if (t !== null && t > ready) ready = t;
    }
    return ready;
  };

  const rows: Row[] = steps.map((step) => {
    const bars: Bar[] = [];
    const list = byStep.get(step.name);

    if (input.attempts === undefined) {
      // No attempt history from this server: one run bar from the step's own timestamps.
      const start = parseTime(step.started_at);
      const end = stepEnd(step) ?? (step.status === 'in_progress' ? now : null);
      const run = segment('run', start, end, step.status === 'in_progress');
      if (run && start !== null && end !== null) {
        bars.push({
          step: step.name,
          attempt: Math.max(1, step.attempts),
          start,
          end,
          outcome:
            step.status === 'in_progress' ? 'running' : step.status === 'completed' ? 'complete' : 'error',
          segments: [run],
          errorType: step.error_type,
          errorMessage: step.error_message,
          workerId: step.worker_id ?? null,
        });
      }
      return { step: step.name, status: step.status, bars };
    }

    let prev: Attempt | undefined;
    for (const a of list ?? []) {
      const segments: Segment[] = [];
      const started = parseTime(a.started_at);
      const finished = parseTime(a.finished_at);
      const queued = parseTime(a.queued_at);
      const prevEnd = prev ? parseTime(prev.finished_at) : null;
      const afterFailure = prev !== undefined && FAILED_OUTCOMES.has(prev.outcome);
      if (queued !== null) {
        if (afterFailure) push(segments, segment('backoff', prevEnd, queued));
        push(segments, segment('queue', queued, started));
      } else if (prev === undefined) {
        push(segments, segment('queue', readyFromDeps(step), started));
      } else {
        // Recorded before queued_at existed: the gap after a retryable failure is mostly the backoff; after
        // a final failure it is the operator's time (no segment).
        if (afterFailure || prev.outcome === 'complete')
          push(segments, segment(afterFailure ? 'backoff' : 'queue', prevEnd, started));
      }
      push(segments, segment('run', started, finished));
      bars.push(barOf(step.name, a.attempt, segments, a.outcome, a.error_type, a.error_message, a.worker_id));
      prev = a;
    }

    const nextAttempt = (prev?.attempt ?? 0) + 1;
    const prevEnd = prev ? parseTime(prev.finished_at) : null;
    const afterFailure = prev !== undefined && FAILED_OUTCOMES.has(prev.outcome);
    const readyAt = parseTime(step.ready_at);
    const queuedAt = parseTime(step.queued_at);

    if (step.status === 'in_progress') {
      const started = parseTime(step.started_at);
      const start = started !== null && prevEnd !== null ? Math.max(started, prevEnd) : started;
      const segments: Segment[] = [];
      if (queuedAt !== null) {
        if (afterFailure) push(segments, segment('backoff', prevEnd, queuedAt));
        push(segments, segment('queue', queuedAt, start));
      } else if (prev === undefined) {
        push(segments, segment('queue', readyFromDeps(step), start));
      } else {
        push(segments, segment(afterFailure ? 'backoff' : 'queue', prevEnd, start));
      }
      push(segments, segment('run', start, Math.max(now, start ?? now), true));
      const attempt = Math.max(step.attempts, nextAttempt);
      bars.push(barOf(step.name, attempt, segments, 'running', null, null, step.worker_id ?? null));
    } else if (step.status === 'waiting_for_retry') {
      const segments: Segment[] = [];
      const until = readyAt ?? now;
      push(segments, segment('backoff', prevEnd, until, readyAt === null));
      if (readyAt !== null && readyAt < now) push(segments, segment('queue', readyAt, now, true));
      if (segments.length) bars.push(barOf(step.name, nextAttempt, segments, 'waiting', null, null, null));
    } else if (step.status === 'pending') {
      const segments: Segment[] = [];
      if (afterFailure && readyAt !== null)
        push(segments, segment('backoff', prevEnd, Math.min(readyAt, now)));
      // queued_at belongs to running attempts only: a pending step queues from its ready_at.
      if (readyAt !== null && readyAt < now) push(segments, segment('queue', readyAt, now, true));
      if (segments.length) bars.push(barOf(step.name, nextAttempt, segments, 'waiting', null, null, null));
    }
    return { step: step.name, status: step.status, bars };
  });

  let end = parseTime(input.endedAt) ?? now;
  if (input.endedAt === null) end = Math.max(end, now);
  for (const row of rows) for (const bar of row.bars) end = Math.max(end, bar.end);
  let start = created;
  for (const row of rows) for (const bar of row.bars) start = Math.min(start, bar.start);
  if (end <= start) end = start + 1;
  return { rows, start, end, now };
}

function barOf(
  step: string,
  attempt: number,
  segments: Segment[],
  outcome: BarOutcome,
  errorType: string | null,
  errorMessage: string | null,
  workerId: string | null,
): Bar {
  const start = segments.length ? Math.min(...segments.map((s) => s.start)) : 0;
  const end = segments.length ? Math.max(...segments.map((s) => s.end)) : 0;
  return { step, attempt, start, end, outcome, segments, errorType, errorMessage, workerId };
}

/** Seconds spent in each kind of segment over a row, for "slow because queued" at a glance. */
export function rowTotals(row: Row): Record<SegmentKind, number> {
  const totals: Record<SegmentKind, number> = { backoff: 0, queue: 0, run: 0 };
  for (const bar of row.bars) for (const s of bar.segments) totals[s.kind] += (s.end - s.start) / 1000;
  return totals;
}

/** Round tick spacing for an axis spanning `spanMs`, aiming at about `target` ticks. */
export function tickStep(spanMs: number, target = 6): number {
  const raw = spanMs / Math.max(1, target);
  const steps = [
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000,
    600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000,
  ];
  return steps.find((s) => s >= raw) ?? 86_400_000 * Math.ceil(raw / 86_400_000);
}
