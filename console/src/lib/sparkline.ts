/**
 * A sparkline's SVG paths from a series of counts (failures per bucket): a line, and the same line closed
 * down to the baseline for a filled area. Pure, so the geometry is tested without a DOM.
 */

export interface SparklineGeometry {
  /** `M x,y L x,y …`, or '' for an empty series. */
  line: string;
  /** The line closed along the bottom edge, or ''. */
  area: string;
  /** The value the top edge stands for (at least 1, so a series of zeros lies flat on the baseline). */
  max: number;
  total: number;
}

const num = (n: number) => String(Math.round(n * 10) / 10);

export function sparklineGeometry(
  values: readonly number[],
  width: number,
  height: number,
  pad = 1,
): SparklineGeometry {
  const clean = values.map((v) => (Number.isFinite(v) && v > 0 ? v : 0));
  const max = Math.max(1, ...clean);
  const total = clean.reduce((a, b) => a + b, 0);
  if (clean.length === 0) return { line: '', area: '', max, total };
  const innerW = Math.max(0, width - 2 * pad);
  const innerH = Math.max(0, height - 2 * pad);
  const base = height - pad;
  const y = (v: number) => base - (v / max) * innerH;
  // One bucket: a flat line across the whole width, at its height.
  const points: [number, number][] =
    clean.length === 1
      ? [
          [pad, y(clean[0] ?? 0)],
          [width - pad, y(clean[0] ?? 0)],
        ]
      : clean.map((v, i) => [pad + (i / (clean.length - 1)) * innerW, y(v)]);
  const line = points.map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${num(px)},${num(py)}`).join('');
  const first = points[0]?.[0] ?? pad;
  const last = points[points.length - 1]?.[0] ?? pad;
  const area = `${line}L${num(last)},${num(base)}L${num(first)},${num(base)}Z`;
  return { line, area, max, total };
}
