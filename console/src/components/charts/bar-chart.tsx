/** A horizontal SVG bar chart: one labelled row per item, the value written at the end of its bar. */
import { useElementWidth } from '../../hooks/use-element-width';

export interface BarDatum {
  key: string;
  label: string;
  value: number;
  display: string;
  /** Extra class for the bar (e.g. highlight the worst one). */
  tone?: string;
}

const ROW = 24;
const BAR = 14;

function fit(text: string, maxChars: number): string {
  return text.length > maxChars ? `${text.slice(0, Math.max(1, maxChars - 1))}…` : text;
}

export function BarChart({ data, label, max }: { data: BarDatum[]; label: string; max?: number }) {
  const [ref, width] = useElementWidth<HTMLDivElement>(480);
  if (data.length === 0) return null;
  const labelWidth = Math.min(220, Math.max(90, Math.floor(width * 0.38)));
  const valueWidth = 72;
  const barSpace = Math.max(20, width - labelWidth - valueWidth - 8);
  const top = max ?? Math.max(...data.map((d) => d.value), 0);
  const height = data.length * ROW + 4;
  return (
    <div className="chart" ref={ref}>
      <svg width={width} height={height} role="img" aria-label={label} className="bar-chart">
        {data.map((d, i) => {
          const y = i * ROW + 2;
          const w = top > 0 ? Math.max(d.value > 0 ? 2 : 0, (d.value / top) * barSpace) : 0;
          return (
            <g key={d.key}>
              <title>{`${d.label}: ${d.display}`}</title>
              <text
                x={labelWidth - 8}
                y={y + ROW / 2}
                className="bar-chart__label"
                textAnchor="end"
                dominantBaseline="middle"
              >
                {fit(d.label, Math.floor((labelWidth - 12) / 7.4))}
              </text>
              <rect
                x={labelWidth}
                y={y + (ROW - BAR) / 2}
                width={barSpace}
                height={BAR}
                className="bar-chart__track"
              />
              <rect
                x={labelWidth}
                y={y + (ROW - BAR) / 2}
                width={w}
                height={BAR}
                className={`bar-chart__bar${d.tone ? ` bar-chart__bar--${d.tone}` : ''}`}
              />
              <text
                x={labelWidth + barSpace + 6}
                y={y + ROW / 2}
                className="bar-chart__value"
                dominantBaseline="middle"
              >
                {d.display}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
