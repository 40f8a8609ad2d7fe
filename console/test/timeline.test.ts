import { describe, expect, it } from 'vitest';
import { step } from './factories';
import type { Attempt } from '../src/api/types';
import { buildTimeline, rowTotals, tickStep } from '../src/lib/timeline';

const T0 = Date.parse('2026-11-30T12:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

const attempt = (over: Partial<Attempt>): Attempt => ({
  step_name: 's',
  attempt: 1,
  queued_at: null,
  started_at: at(0),
  finished_at: at(0),
  duration_seconds: null,
  outcome: 'complete',
  error_type: null,
  error_message: null,
  worker_id: 'w1',
  ...over,
});

const kinds = (segments: { kind: string; start: number; end: number }[]) =>
  segments.map((s) => [s.kind, s.start - T0, s.end - T0]);

describe('buildTimeline', () => {
  it('splits a retried step into queue/run, then backoff/queue/run', () => {
    const tl = buildTimeline({
      createdAt: at(0),
      endedAt: at(5000),
      now: T0 + 10_000,
      steps: [step({ name: 'pay', status: 'completed', attempts: 2, completed_at: at(5000) })],
      attempts: [
        attempt({
          step_name: 'pay',
          attempt: 1,
          queued_at: at(0),
          started_at: at(100),
          finished_at: at(1100),
          outcome: 'retry',
        }),
        attempt({
          step_name: 'pay',
          attempt: 2,
          queued_at: at(3100),
          started_at: at(3600),
          finished_at: at(5000),
        }),
      ],
    });
    const bars = tl.rows[0]?.bars ?? [];
    expect(bars.map((b) => b.attempt)).toEqual([1, 2]);
    expect(kinds(bars[0]?.segments ?? [])).toEqual([
      ['queue', 0, 100],
      ['run', 100, 1100],
    ]);
    expect(kinds(bars[1]?.segments ?? [])).toEqual([
      ['backoff', 1100, 3100],
      ['queue', 3100, 3600],
      ['run', 3600, 5000],
    ]);
    expect(tl.end - T0).toBe(5000); // a finished task's axis ends with it, not at now
  });

  it('after a final failure and an operator retry: no backoff, the new attempt queues from its ready_at', () => {
    const tl = buildTimeline({
      createdAt: at(0),
      endedAt: null,
      now: T0 + 60_000,
      steps: [step({ name: 'pay', status: 'pending', attempts: 1, ready_at: at(50_000), queued_at: null })],
      attempts: [
        attempt({
          step_name: 'pay',
          attempt: 1,
          queued_at: at(0),
          started_at: at(0),
          finished_at: at(1000),
          outcome: 'error',
        }),
      ],
    });
    const bars = tl.rows[0]?.bars ?? [];
    expect(kinds(bars[1]?.segments ?? [])).toEqual([['queue', 50_000, 60_000]]);
    expect(bars.flatMap((b) => b.segments).some((s) => s.kind === 'backoff')).toBe(false);
  });

  it('tells queue-bound from handler-bound: totals per kind', () => {
    const tl = buildTimeline({
      createdAt: at(0),
      endedAt: at(10_000),
      now: T0 + 10_000,
      steps: [
        step({ name: 'a', status: 'completed' }),
        step({ name: 'b', status: 'completed', depends_on: ['a'] }),
      ],
      attempts: [
        attempt({ step_name: 'a', queued_at: at(0), started_at: at(8000), finished_at: at(8100) }),
        attempt({ step_name: 'b', queued_at: at(8100), started_at: at(8150), finished_at: at(10_000) }),
      ],
    });
    const [a, b] = tl.rows.map(rowTotals);
    expect(a).toEqual({ backoff: 0, queue: 8, run: 0.1 });
    expect(b?.queue).toBeCloseTo(0.05);
    expect(b?.run).toBeCloseTo(1.85);
  });

  it('grows a running attempt to now, after its queue wait', () => {
    const now = T0 + 7000;
    const tl = buildTimeline({
      createdAt: at(0),
      endedAt: null,
      now,
      steps: [
        step({
          name: 'inv',
          status: 'in_progress',
          attempts: 1,
          queued_at: at(1000),
          started_at: at(4000),
          worker_id: 'w9',
        }),
      ],
      attempts: [],
    });
    const bar = tl.rows[0]?.bars[0];
    expect(bar?.attempt).toBe(1);
    expect(bar?.outcome).toBe('running');
    expect(bar?.workerId).toBe('w9');
    expect(kinds(bar?.segments ?? [])).toEqual([
      ['queue', 1000, 4000],
      ['run', 4000, 7000],
    ]);
    expect(bar?.segments.at(-1)?.open).toBe(true);
    expect(tl.end).toBe(now);
  });

  it('shows a waiting_for_retry step as backoff until ready_at, on the next attempt number', () => {
    const tl = buildTimeline({
      createdAt: at(0),
      endedAt: null,
      now: T0 + 2000,
      steps: [step({ name: 'pay', status: 'waiting_for_retry', attempts: 1, ready_at: at(4000) })],
      attempts: [
        attempt({
          step_name: 'pay',
          queued_at: at(0),
          started_at: at(0),
          finished_at: at(1000),
          outcome: 'retry',
        }),
      ],
    });
    const bars = tl.rows[0]?.bars ?? [];
    expect(bars.map((b) => b.attempt)).toEqual([1, 2]);
    expect(kinds(bars[1]?.segments ?? [])).toEqual([['backoff', 1000, 4000]]);
    expect(tl.end - T0).toBe(4000); // the axis reaches the planned retry
  });

  it('shows a pending step that is ready as queue wait from ready_at to now', () => {
    const tl = buildTimeline({
      createdAt: at(0),
      endedAt: null,
      now: T0 + 9000,
      steps: [step({ name: 'x', status: 'pending', ready_at: at(2000) })],
      attempts: [],
    });
    expect(kinds(tl.rows[0]?.bars[0]?.segments ?? [])).toEqual([['queue', 2000, 9000]]);
    expect(tl.rows[0]?.bars[0]?.attempt).toBe(1);
  });

  it('without queued_at, starts a first attempt queue when its last dependency finished', () => {
    const tl = buildTimeline({
      createdAt: at(0),
      endedAt: at(3000),
      now: T0 + 3000,
      steps: [
        step({ name: 'a', status: 'completed', completed_at: at(1000) }),
        step({ name: 'b', status: 'completed', depends_on: ['a'], completed_at: at(3000) }),
      ],
      attempts: [
        attempt({ step_name: 'a', started_at: at(200), finished_at: at(1000) }),
        attempt({ step_name: 'b', started_at: at(1500), finished_at: at(3000) }),
      ],
    });
    expect(kinds(tl.rows[0]?.bars[0]?.segments ?? [])).toEqual([
      ['queue', 0, 200],
      ['run', 200, 1000],
    ]);
    expect(kinds(tl.rows[1]?.bars[0]?.segments ?? [])).toEqual([
      ['queue', 1000, 1500],
      ['run', 1500, 3000],
    ]);
  });

  it('falls back to one run bar per started step when the server sends no attempts', () => {
    const tl = buildTimeline({
      createdAt: at(0),
      endedAt: at(500),
      now: T0 + 500,
      steps: [
        step({ name: 'a', status: 'failed', attempts: 1, started_at: at(100), failed_at: at(500) }),
        step({ name: 'b', status: 'blocked' }),
      ],
      attempts: undefined,
    });
    expect(kinds(tl.rows[0]?.bars[0]?.segments ?? [])).toEqual([['run', 100, 500]]);
    expect(tl.rows[1]?.bars).toEqual([]);
  });
});

describe('tickStep', () => {
  it('picks round steps for about six ticks', () => {
    expect(tickStep(1000)).toBe(200);
    expect(tickStep(60_000)).toBe(10_000);
    expect(tickStep(3_600_000)).toBe(600_000);
  });
});

describe('buildTimeline edge cases', () => {
  it('keeps a run that finished within the millisecond it started', () => {
    const tl = buildTimeline({
      createdAt: at(0),
      endedAt: at(10),
      now: T0 + 10,
      steps: [step({ name: 'v', status: 'completed', completed_at: at(5) })],
      attempts: [attempt({ step_name: 'v', queued_at: at(0), started_at: at(5), finished_at: at(5) })],
    });
    expect(kinds(tl.rows[0]?.bars[0]?.segments ?? [])).toEqual([
      ['queue', 0, 5],
      ['run', 5, 5],
    ]);
  });

  it('draws nothing (and keeps the axis) for a waiting step with no history to measure from', () => {
    const tl = buildTimeline({
      createdAt: at(0),
      endedAt: null,
      now: T0 + 1000,
      steps: [step({ name: 'w', status: 'waiting_for_retry', ready_at: null })],
      attempts: [],
    });
    expect(tl.rows[0]?.bars).toEqual([]);
    expect(tl.start).toBe(T0);
  });
});
