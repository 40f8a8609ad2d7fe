import { formatDuration } from '../../lib/format';
import { sparklineGeometry } from '../../lib/sparkline';

/** A failure group's failures per bucket over the window: an area under a line, peak on the top edge. */
export function FailureSparkline({
  series,
  bucketSeconds,
  width = 120,
  height = 26,
}: {
  series: number[];
  bucketSeconds: number | null;
  width?: number;
  height?: number;
}) {
  const g = sparklineGeometry(series, width, height);
  const peak = Math.max(0, ...series.filter((v) => Number.isFinite(v)));
  const buckets = bucketSeconds ? ` of ${formatDuration(bucketSeconds)}` : '';
  const label = `${g.total.toLocaleString('en-US')} failures over ${series.length} buckets${buckets}, at most ${peak.toLocaleString('en-US')} in one`;
  return (
    <svg
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      className="sparkline"
      role="img"
      aria-label={label}
    >
      <title>{label}</title>
      <line x1={1} x2={width - 1} y1={height - 1} y2={height - 1} className="sparkline__base" />
      {g.area && <path d={g.area} className="sparkline__area" />}
      {g.line && <path d={g.line} className="sparkline__line" />}
    </svg>
  );
}
