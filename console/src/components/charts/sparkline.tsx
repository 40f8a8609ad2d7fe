/** A tiny line of a series (throughput per task), with failures as a second line. */
export function Sparkline({
  values,
  secondary,
  width = 120,
  height = 24,
  label,
}: {
  values: number[];
  secondary?: number[];
  width?: number;
  height?: number;
  label: string;
}) {
  const max = Math.max(1, ...values, ...(secondary ?? []));
  const points = (series: number[]) =>
    series
      .map((v, i) => {
        const x = series.length > 1 ? (i / (series.length - 1)) * (width - 2) + 1 : width / 2;
        const y = height - 1 - (v / max) * (height - 2);
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      })
      .join(' ');
  return (
    <svg width={width} height={height} className="sparkline" role="img" aria-label={label}>
      <polyline points={points(values)} className="sparkline__main" />
      {secondary && secondary.some((v) => v > 0) && (
        <polyline points={points(secondary)} className="sparkline__failed" />
      )}
    </svg>
  );
}
