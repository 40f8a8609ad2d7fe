/**
 * The task's Gantt: one row per step, one bar per attempt, each bar split into backoff / queue / run.
 * Kinds differ by colour, by fill pattern and by a text label when the segment is wide enough, so "slow
 * because queued" reads differently from "slow because the handler is slow" without relying on colour.
 * Hovering or focusing a bar reads out its exact times below the chart.
 */
import './timeline.css';
import { useId, useState } from 'react';
import { useElementWidth } from '../../hooks/use-element-width';
import { formatClock, formatDateTime, formatDuration } from '../../lib/format';
import { tickStep, type Bar, type SegmentKind, type Timeline } from '../../lib/timeline';

const ROW = 26;
const BAR_H = 16;
const AXIS = 24;
const LABEL_W = 190;

const KIND_LABEL: Record<SegmentKind, string> = { backoff: 'backoff', queue: 'queue', run: 'run' };

/** Short spans read as offsets from the task's start ("+40 ms"); long ones as wall-clock times. */
function tickLabel(t: number, start: number, span: number): string {
  if (span >= 60_000) return formatClock(new Date(t).toISOString());
  const rel = (t - start) / 1000;
  return rel === 0 ? '0' : `+${formatDuration(rel)}`;
}

function describeBar(bar: Bar): string {
  const parts = bar.segments.map(
    (s) => `${KIND_LABEL[s.kind]} ${formatDuration((s.end - s.start) / 1000)}${s.open ? ' (so far)' : ''}`,
  );
  return `${bar.step}, attempt ${bar.attempt} (${bar.outcome}): ${parts.join(', ')}`;
}

export function TimelineChart({
  timeline,
  selected,
  onSelect,
}: {
  timeline: Timeline;
  selected: string | null;
  onSelect: (step: string) => void;
}) {
  const [ref, width] = useElementWidth<HTMLDivElement>(900);
  const [active, setActive] = useState<Bar | null>(null);
  const uid = useId().replace(/[^a-zA-Z0-9_-]/g, '');
  const { start, end, rows, now } = timeline;
  const span = Math.max(1, end - start);
  const plotW = Math.max(100, width - LABEL_W - 16);
  const x = (t: number) => LABEL_W + ((t - start) / span) * plotW;
  const height = AXIS + rows.length * ROW + 4;
  const tick = tickStep(span, Math.max(2, Math.floor(plotW / 110)));
  const ticks: number[] = [];
  const firstTick = span < 60_000 ? start : Math.ceil(start / tick) * tick;
  for (let t = firstTick; t <= end + 0.5; t += tick) ticks.push(t);

  return (
    <div className="timeline">
      <ul className="legend" aria-label="Timeline legend">
        <li>
          <span className="legend__swatch legend__swatch--backoff" aria-hidden="true" /> retry backoff
          (hatched)
        </li>
        <li>
          <span className="legend__swatch legend__swatch--queue" aria-hidden="true" /> queue wait (dotted)
        </li>
        <li>
          <span className="legend__swatch legend__swatch--run" aria-hidden="true" /> execution (solid)
        </li>
        <li>
          <span className="legend__swatch legend__swatch--failed-run" aria-hidden="true" /> failed attempt
          (red edge)
        </li>
      </ul>
      <div className="timeline__scroll" ref={ref}>
        <svg width={width} height={height} className="timeline__svg" aria-label="Timeline of step attempts">
          <defs>
            <pattern
              id={`${uid}-backoff`}
              width="6"
              height="6"
              patternUnits="userSpaceOnUse"
              patternTransform="rotate(45)"
            >
              <rect width="6" height="6" className="seg-pattern__backoff-bg" />
              <line x1="0" y1="0" x2="0" y2="6" className="seg-pattern__backoff-line" />
            </pattern>
            <pattern id={`${uid}-queue`} width="5" height="5" patternUnits="userSpaceOnUse">
              <rect width="5" height="5" className="seg-pattern__queue-bg" />
              <circle cx="2.5" cy="2.5" r="1" className="seg-pattern__queue-dot" />
            </pattern>
          </defs>
          {ticks.map((t) => (
            <g key={t}>
              <line x1={x(t)} x2={x(t)} y1={AXIS - 4} y2={height} className="axis__grid" />
              <text x={x(t)} y={AXIS - 8} className="axis__label" textAnchor="middle">
                {tickLabel(t, start, span)}
              </text>
            </g>
          ))}
          {rows.map((row, i) => {
            const y = AXIS + i * ROW;
            const isSelected = row.step === selected;
            return (
              <g key={row.step} className={`timeline__row${isSelected ? ' is-selected' : ''}`}>
                <rect
                  x={0}
                  y={y}
                  width={width}
                  height={ROW}
                  className="timeline__row-bg"
                  onClick={() => onSelect(row.step)}
                />
                <text
                  x={8}
                  y={y + ROW / 2}
                  className="timeline__label"
                  dominantBaseline="middle"
                  onClick={() => onSelect(row.step)}
                >
                  {row.step.length > 26 ? `${row.step.slice(0, 25)}…` : row.step}
                  <title>{`${row.step} (${row.status.replace(/_/g, ' ')})`}</title>
                </text>
                {row.bars.map((bar) => (
                  <g
                    key={bar.attempt}
                    className={`timeline__bar timeline__bar--${bar.outcome}`}
                    data-step={bar.step}
                    data-attempt={bar.attempt}
                    tabIndex={0}
                    role="img"
                    aria-label={describeBar(bar)}
                    onMouseEnter={() => setActive(bar)}
                    onMouseLeave={() => setActive(null)}
                    onFocus={() => setActive(bar)}
                    onBlur={() => setActive(null)}
                    onClick={() => onSelect(bar.step)}
                    onKeyDown={(e) => {
                      if (e.key === 'Enter' || e.key === ' ') {
                        e.preventDefault();
                        onSelect(bar.step);
                      }
                    }}
                  >
                    <title>{describeBar(bar)}</title>
                    {bar.segments.map((s) => {
                      const sx = x(s.start);
                      const sw = Math.max(1.5, x(s.end) - sx);
                      const fill = s.kind === 'run' ? undefined : `url(#${uid}-${s.kind})`;
                      const text = `${KIND_LABEL[s.kind]} ${formatDuration((s.end - s.start) / 1000)}`;
                      return (
                        <g
                          key={`${s.kind}-${s.start}`}
                          data-segment={s.kind}
                          className={`seg seg--${s.kind}${s.open ? ' seg--open' : ''}`}
                        >
                          <rect
                            x={sx}
                            y={y + (ROW - BAR_H) / 2}
                            width={sw}
                            height={BAR_H}
                            fill={fill}
                            className="seg__rect"
                          />
                          {sw > text.length * 6 + 8 && (
                            <text x={sx + 4} y={y + ROW / 2} className="seg__text" dominantBaseline="middle">
                              {text}
                            </text>
                          )}
                        </g>
                      );
                    })}
                    {(bar.outcome === 'error' || bar.outcome === 'retry') && (
                      <rect
                        x={x(bar.end) - 3}
                        y={y + (ROW - BAR_H) / 2}
                        width={3}
                        height={BAR_H}
                        className="timeline__fail-cap"
                      />
                    )}
                    <rect
                      x={x(bar.start)}
                      y={y + (ROW - BAR_H) / 2}
                      width={Math.max(1.5, x(bar.end) - x(bar.start))}
                      height={BAR_H}
                      className="timeline__focus-ring"
                    />
                  </g>
                ))}
              </g>
            );
          })}
          {now >= start && now <= end && (
            <g className="timeline__now">
              <line x1={x(now)} x2={x(now)} y1={AXIS - 4} y2={height} />
              {/* Near the right edge the label goes on the line's left, or it would be clipped. */}
              <text
                x={x(now) > width - 40 ? x(now) - 3 : x(now) + 3}
                y={AXIS + 8}
                textAnchor={x(now) > width - 40 ? 'end' : 'start'}
                className="axis__label"
              >
                now
              </text>
            </g>
          )}
        </svg>
      </div>
      <div className="timeline__readout" aria-live="polite">
        {active ? (
          <BarDetails bar={active} />
        ) : (
          <span className="muted">Hover or focus a bar for exact times.</span>
        )}
      </div>
    </div>
  );
}

function BarDetails({ bar }: { bar: Bar }) {
  return (
    <div>
      <strong>{bar.step}</strong> attempt {bar.attempt} · {bar.outcome}
      {bar.workerId && <span className="mono"> · worker {bar.workerId}</span>}
      {bar.errorType && (
        <span>
          {' '}
          · {bar.errorType}
          {bar.errorMessage ? `: ${bar.errorMessage}` : ''}
        </span>
      )}
      <ul className="timeline__segments">
        {bar.segments.map((s) => (
          <li key={`${s.kind}-${s.start}`}>
            <span className={`legend__swatch legend__swatch--${s.kind}`} aria-hidden="true" />{' '}
            {KIND_LABEL[s.kind]}{' '}
            <span className="mono">
              {formatDateTime(new Date(s.start).toISOString())} →{' '}
              {s.open ? 'now' : formatDateTime(new Date(s.end).toISOString())}
            </span>{' '}
            ({formatDuration((s.end - s.start) / 1000)}
            {s.open ? ' so far' : ''})
          </li>
        ))}
      </ul>
    </div>
  );
}
