/**
 * The triage page's state in the URL (`triage?time_range=6h&namespace=&name=`, CONTRACT.md), and how a
 * failure group's counts read.
 */
import type { FailureGroup, FailureGroupStatusCounts } from '../api/types';
import { DEFAULT_RANGE, parseRange, rangeSeconds, type TimeRangeChoice } from './time-range';

export interface TriageState {
  range: TimeRangeChoice;
  namespace: string;
  name: string;
}

export function parseTriageSearch(search: string): TriageState {
  const params = new URLSearchParams(search);
  return {
    range: parseRange(search, 'time_range'),
    namespace: (params.get('namespace') ?? '').trim(),
    name: (params.get('name') ?? '').trim(),
  };
}

/** Canonical form (fixed order, no empties, the default range left out) so equal views share URLs. */
export function triageSearch(state: TriageState): string {
  const params = new URLSearchParams();
  if (state.range !== DEFAULT_RANGE) params.set('time_range', state.range);
  if (state.namespace.trim()) params.set('namespace', state.namespace.trim());
  if (state.name.trim()) params.set('name', state.name.trim());
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** A group page's query string: its window only. */
export function groupSearch(range: TimeRangeChoice): string {
  return triageSearch({ range, namespace: '', name: '' });
}

const STATUS_ORDER: (keyof FailureGroupStatusCounts)[] = [
  'failed',
  'stuck',
  'retrying',
  'recovered',
  'cancelled',
];

/** The non-zero counts of a group's tasks by where they are now, worst first. */
export function statusBreakdown(
  counts: Partial<FailureGroupStatusCounts> | null | undefined,
): { key: keyof FailureGroupStatusCounts; count: number }[] {
  if (!counts) return [];
  return STATUS_ORDER.map((key) => ({ key, count: counts[key] ?? 0 })).filter((r) => r.count > 0);
}

/** "8 failed · 2 retrying · 1 recovered". */
export function breakdownText(counts: Partial<FailureGroupStatusCounts> | null | undefined): string {
  return statusBreakdown(counts)
    .map((r) => `${r.count.toLocaleString('en-US')} ${r.key}`)
    .join(' · ');
}

/** Groups still failing in the last 5 minutes. */
export function ongoingCount(groups: readonly FailureGroup[]): number {
  return groups.filter((g) => g.ongoing).length;
}

/** The group page gets no `bucket_seconds`: its series spans the window in equal buckets. */
export function bucketSecondsOf(range: TimeRangeChoice, buckets: number): number | null {
  return buckets > 0 ? rangeSeconds(range) / buckets : null;
}
