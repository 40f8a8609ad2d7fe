/** The analytics pages' time range, kept in the URL (`?range=6h`). */

export const TIME_RANGES = ['15m', '1h', '6h', '24h', '7d'] as const;
export type TimeRangeChoice = (typeof TIME_RANGES)[number];

export const DEFAULT_RANGE: TimeRangeChoice = '1h';

export function parseRange(search: string): TimeRangeChoice {
  const value = new URLSearchParams(search).get('range');
  return (TIME_RANGES as readonly string[]).includes(value ?? '')
    ? (value as TimeRangeChoice)
    : DEFAULT_RANGE;
}

export function rangeSearch(search: string, range: TimeRangeChoice): string {
  const params = new URLSearchParams(search);
  if (range === DEFAULT_RANGE) params.delete('range');
  else params.set('range', range);
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
