/**
 * The analytics pages' time range, kept in the URL (`?range=6h`; the triage pages use `?time_range=6h`, the
 * API's own word, as CONTRACT.md names their client routes).
 */

export const TIME_RANGES = ['15m', '1h', '6h', '24h', '7d'] as const;
export type TimeRangeChoice = (typeof TIME_RANGES)[number];

export const DEFAULT_RANGE: TimeRangeChoice = '1h';

export type RangeParam = 'range' | 'time_range';

export function parseRange(search: string, param: RangeParam = 'range'): TimeRangeChoice {
  const value = new URLSearchParams(search).get(param);
  return (TIME_RANGES as readonly string[]).includes(value ?? '')
    ? (value as TimeRangeChoice)
    : DEFAULT_RANGE;
}

export function rangeSearch(search: string, range: TimeRangeChoice, param: RangeParam = 'range'): string {
  const params = new URLSearchParams(search);
  if (range === DEFAULT_RANGE) params.delete(param);
  else params.set(param, range);
  const text = params.toString();
  return text ? `?${text}` : '';
}

const LABELS: Record<TimeRangeChoice, string> = {
  '15m': 'last 15 minutes',
  '1h': 'last hour',
  '6h': 'last 6 hours',
  '24h': 'last 24 hours',
  '7d': 'last 7 days',
};

export function rangeLabel(range: TimeRangeChoice): string {
  return LABELS[range];
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "15m" → 900. */
export function rangeSeconds(range: TimeRangeChoice): number {
  const n = Number(range.slice(0, -1));
  return n * (UNIT_SECONDS[range.slice(-1)] ?? 0);
}
