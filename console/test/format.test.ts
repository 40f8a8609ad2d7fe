import { describe, expect, it } from 'vitest';
import {
  elapsedSeconds,
  formatClock,
  formatDateTime,
  formatDuration,
  formatMoney,
  formatPercent,
  formatRelative,
} from '../src/lib/format';

describe('formatDuration', () => {
  it('picks ms, s, min, h and d as the value grows', () => {
    expect(formatDuration(0.0042)).toBe('4.2 ms');
    expect(formatDuration(0.25)).toBe('250 ms');
    expect(formatDuration(3.456)).toBe('3.46 s');
    expect(formatDuration(2)).toBe('2 s');
    expect(formatDuration(12.34)).toBe('12.3 s');
    expect(formatDuration(75)).toBe('1 min 15 s');
    expect(formatDuration(120)).toBe('2 min');
    expect(formatDuration(5400)).toBe('1 h 30 min');
    expect(formatDuration(90000)).toBe('1 d 1 h');
  });

  it('shows a dash for missing values', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(undefined)).toBe('—');
    expect(formatDuration(Number.NaN)).toBe('—');
  });
});

describe('relative and exact times', () => {
  const now = Date.parse('2026-11-30T12:00:00.000Z');
  it('says how long ago, or how long until', () => {
    expect(formatRelative('2026-11-30T11:59:48.000Z', now)).toBe('12 s ago');
    expect(formatRelative('2026-11-30T11:55:00.000Z', now)).toBe('5 min ago');
    expect(formatRelative('2026-11-30T09:00:00.000Z', now)).toBe('3 h ago');
    expect(formatRelative('2026-11-28T12:00:00.000Z', now)).toBe('2 d ago');
    expect(formatRelative('2026-11-30T12:00:04.000Z', now)).toBe('in 4 s');
    expect(formatRelative('2026-11-30T12:00:00.300Z', now)).toBe('just now');
    expect(formatRelative(null, now)).toBe('—');
  });

  it('formats local wall-clock times with milliseconds', () => {
    const iso = new Date(2026, 10, 30, 9, 3, 4, 56).toISOString();
    expect(formatDateTime(iso)).toBe('2026-11-30 09:03:04.056');
    expect(formatClock(iso)).toBe('09:03:04');
  });
});

describe('numbers', () => {
  it('formats percentages and money', () => {
    expect(formatPercent(0.456)).toBe('46%');
    expect(formatPercent(0.456, 1)).toBe('45.6%');
    expect(formatMoney(1234.5)).toBe('1,234.50');
    expect(formatMoney(null)).toBe('—');
  });
});

describe('elapsedSeconds', () => {
  const base = { created_at: '2026-11-30T12:00:00.000Z', started_at: '2026-11-30T12:00:01.000Z' };
  it('runs from start to the end that matches the status', () => {
    expect(elapsedSeconds({ ...base, status: 'failed', failed_at: '2026-11-30T12:00:03.500Z' }, 0)).toBe(2.5);
  });
  it('runs to now while the task is open', () => {
    expect(elapsedSeconds({ ...base, status: 'in_progress' }, Date.parse('2026-11-30T12:00:11.000Z'))).toBe(
      10,
    );
  });
});

describe('elapsedSeconds clock skew', () => {
  it('never goes negative for an open task started just after now', () => {
    expect(
      elapsedSeconds(
        {
          status: 'in_progress',
          created_at: '2026-11-30T12:00:00.000Z',
          started_at: '2026-11-30T12:00:00.500Z',
        },
        Date.parse('2026-11-30T12:00:00.400Z'),
      ),
    ).toBe(0);
  });
});
