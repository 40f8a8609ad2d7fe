/**
 * Tasks per bucket over the window: completed and failed as stacked columns (failed also hatched, so it
 * is not colour alone), created as a line. Hovering or focusing a column reads out its exact figures.
 */
import { useId, useState } from 'react';
import { useElementWidth } from '../../hooks/use-element-width';
import { formatClock } from '../../lib/format';
import { niceMax, type Counts } from '../../lib/throughput';
import { tickStep } from '../../lib/timeline';

const HEIGHTS = { all: 180, failures: 96 };
const PAD = { top: 10, right: 12, bottom: 22, left: 36 };

/**
 * `failures` draws the failed column alone on its own scale: at 2 % failures a spike is invisible
 * stacked on the completed ones.
 */
export function ThroughputChart({
  buckets,
  counts: all,
  bucketSeconds,
  variant = 'all',
}: {
  buckets: string[];
  counts: Counts;
  bucketSeconds: number;
  variant?: 'all' | 'failures';
}) {
  const HEIGHT = HEIGHTS[variant];
  const counts: Counts =
    variant === 'all' ? all : { created: [], completed: all.completed.map(() => 0), failed: all.failed };
  const [ref, width] = useElementWidth<HTMLDivElement>(700);
  const [active, setActive] = useState<number | null>(null);
  const n = buckets.length;
  const plotW = Math.max(50, width - PAD.left - PAD.right);
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const max = niceMax(
    Math.max(0, ...counts.created, ...counts.completed.map((c, i) => c + (counts.failed[i] ?? 0))),
  );
  const colW = n ? plotW / n : plotW;
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const start = n ? Date.parse(buckets[0] ?? '') : 0;
  const span = n * bucketSeconds * 1000;
  const tick = tickStep(span, Math.max(2, Math.floor(plotW / 90)));
  const ticks: number[] = [];
  if (n && Number.isFinite(start)) {
    for (let t = Math.ceil(start / tick) * tick; t <= start + span; t += tick) ticks.push(t);
  }
  const line = counts.created
    .map((v, i) => `${(PAD.left + (i + 0.5) * colW).toFixed(1)},${y(v).toFixed(1)}`)
    .join(' ');
  const readout = active !== null ? active : null;
  const hatch = `hatch-${useId().replace(/[^a-zA-Z0-9_-]/g, '')}`;

  return (
    <div className="chart" ref={ref}>
      <svg
        width={width}
        height={HEIGHT}
        className="throughput"
        role="img"
        aria-label={
          variant === 'all' ? 'Tasks created, completed and failed per interval' : 'Failed tasks per interval'
        }
      >
        <defs>
          <pattern
            id={hatch}
            width="4"
            height="4"
            patternUnits="userSpaceOnUse"
            patternTransform="rotate(45)"
          >
            <rect width="4" height="4" className="throughput__failed-bg" />
            <line x1="0" y1="0" x2="0" y2="4" className="throughput__failed-line" />
          </pattern>
        </defs>
        {[0, max / 2, max].map((v) => (
          <g key={v}>
            <line x1={PAD.left} x2={PAD.left + plotW} y1={y(v)} y2={y(v)} className="axis__grid" />
            <text
              x={PAD.left - 6}
              y={y(v)}
              className="axis__label"
              textAnchor="end"
              dominantBaseline="middle"
            >
              {Number.isInteger(v) ? v : v.toFixed(1)}
            </text>
          </g>
        ))}
        {ticks.map((t) => {
          const x = PAD.left + ((t - start) / span) * plotW;
          return (
            <text key={t} x={x} y={HEIGHT - 6} className="axis__label" textAnchor="middle">
              {formatClock(new Date(t).toISOString()).slice(0, bucketSeconds >= 60 ? 5 : 8)}
            </text>
          );
        })}
        {buckets.map((b, i) => {
          const done = counts.completed[i] ?? 0;
          const failed = counts.failed[i] ?? 0;
          const x = PAD.left + i * colW + Math.min(1, colW * 0.1);
          const w = Math.max(1, colW - Math.min(2, colW * 0.2));
          return (
            <g
              key={b}
              className={`throughput__col${active === i ? ' is-active' : ''}`}
              onMouseEnter={() => setActive(i)}
              onMouseLeave={() => setActive(null)}
            >
              <title>{`${formatClock(b)}: ${counts.created[i] ?? 0} created, ${done} completed, ${failed} failed`}</title>
              <rect
                x={PAD.left + i * colW}
                y={PAD.top}
                width={colW}
                height={plotH}
                className="throughput__hit"
              />
              {done > 0 && (
                <rect x={x} y={y(done)} width={w} height={y(0) - y(done)} className="throughput__completed" />
              )}
              {failed > 0 && (
                <rect
                  x={x}
                  y={y(done + failed)}
                  width={w}
                  height={y(done) - y(done + failed)}
                  fill={`url(#${hatch})`}
                  className="throughput__failed"
                />
              )}
            </g>
          );
        })}
        {n > 1 && variant === 'all' && <polyline points={line} className="throughput__created" />}
      </svg>
      {variant === 'all' && (
        <div className="chart__footer">
          <ul className="legend" aria-label="Legend">
            <li>
              <span className="legend__swatch legend__swatch--completed" aria-hidden="true" /> completed
            </li>
            <li>
              <span className="legend__swatch legend__swatch--failed" aria-hidden="true" /> failed (hatched)
            </li>
            <li>
              <span className="legend__swatch legend__swatch--created" aria-hidden="true" /> created (line)
            </li>
          </ul>
          <span className="chart__readout mono" aria-live="off">
            {readout !== null
              ? `${formatClock(buckets[readout])}  created ${counts.created[readout] ?? 0} · completed ${counts.completed[readout] ?? 0} · failed ${counts.failed[readout] ?? 0}`
              : 'hover a column for its figures'}
          </span>
        </div>
      )}
    </div>
  );
}
