/**
 * Business-impact breakdowns arrive as `{key: number}` (revenue loss, or a count for failure categories)
 * or as `{key: {failed_workflows, revenue_loss, count…}}`; this reads both into one row shape.
 */
import type { ImpactBreakdown } from '../api/types';

export interface ImpactRow {
  key: string;
  /** The figure the chart plots: revenue loss, or the count when there is no money figure. */
  value: number;
  revenueLoss: number | null;
  count: number | null;
}

function numberField(record: Record<string, number | null>, names: string[]): number | null {
  for (const name of names) {
    const v = record[name];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return null;
}

/** `scalar` says what a bare number means in this breakdown. */
export function impactRows(
  breakdown: ImpactBreakdown | null | undefined,
  scalar: 'revenue' | 'count',
): ImpactRow[] {
  const rows: ImpactRow[] = [];
  for (const [key, raw] of Object.entries(breakdown ?? {})) {
    if (typeof raw === 'number') {
      rows.push({
        key,
        value: raw,
        revenueLoss: scalar === 'revenue' ? raw : null,
        count: scalar === 'count' ? raw : null,
      });
    } else if (raw && typeof raw === 'object') {
      const revenueLoss = numberField(raw, ['revenue_loss', 'estimated_revenue_loss', 'revenue_at_risk']);
      const count = numberField(raw, ['failed_workflows', 'count', 'tasks']);
      rows.push({
        key,
        value: (scalar === 'revenue' ? revenueLoss : count) ?? revenueLoss ?? count ?? 0,
        revenueLoss,
        count,
      });
    }
  }
  return rows.sort((a, b) => b.value - a.value || a.key.localeCompare(b.key));
}
