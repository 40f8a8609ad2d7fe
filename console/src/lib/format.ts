/** Human-readable times, durations and numbers. Pure: `now` is always passed in, so tests can pin it. */

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** 0.0042 → "4.2 ms", 0.25 → "250 ms", 3.456 → "3.46 s", 75 → "1 min 15 s", 5400 → "1 h 30 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const negative = seconds < 0;
  const s = Math.abs(seconds);
  let text: string;
  if (s < 0.01) text = `${(s * 1000).toFixed(1).replace(/\.0$/, '')} ms`;
  else if (s < 1) text = `${Math.round(s * 1000)} ms`;
  else if (s < 10) text = `${s.toFixed(2).replace(/\.?0+$/, '')} s`;
  else if (s < 60) text = `${s.toFixed(1).replace(/\.0$/, '')} s`;
  else if (s < 3600) {
    const min = Math.floor(s / 60);
    const sec = Math.floor(s - min * 60);
    text = sec ? `${min} min ${sec} s` : `${min} min`;
  } else if (s < 86400) {
    const h = Math.floor(s / 3600);
    const min = Math.floor((s - h * 3600) / 60);
    text = min ? `${h} h ${min} min` : `${h} h`;
  } else {
    const d = Math.floor(s / 86400);
    const h = Math.floor((s - d * 86400) / 3600);
    text = h ? `${d} d ${h} h` : `${d} d`;
  }
  return negative ? `-${text}` : text;
}

export function formatDurationMs(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '—' : formatDuration(ms / 1000);
}

/** "12 s ago", "in 4 min", "just now". */
export function formatRelative(iso: string | null | undefined, now: number): string {
  const at = parseTime(iso);
  if (at === null) return '—';
  const diff = (now - at) / 1000;
  const abs = Math.abs(diff);
  if (abs < 1) return 'just now';
  let text: string;
  if (abs < 60) text = `${Math.floor(abs)} s`;
  else if (abs < 3600) text = `${Math.floor(abs / 60)} min`;
  else if (abs < 86400) text = `${Math.floor(abs / 3600)} h`;
  else text = `${Math.floor(abs / 86400)} d`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** Local wall-clock time with milliseconds: "2026-11-30 21:57:42.211". */
export function formatDateTime(iso: string | null | undefined): string {
  const at = parseTime(iso);
  if (at === null) return '—';
  const d = new Date(at);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

/** Local time of day, "12:03:04". */
export function formatClock(iso: string | null | undefined): string {
  const at = parseTime(iso);
  if (at === null) return '—';
  const d = new Date(at);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The exact instant for a title attribute: local time plus the ISO form the API sent. */
export function exactTitle(iso: string | null | undefined): string {
  if (!iso) return '';
  return `${formatDateTime(iso)} (${iso})`;
}

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US');
}

export function formatPercent(ratio: number | null | undefined, digits = 0): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '—';
  return `${(ratio * 100).toFixed(digits)}%`;
}

/** Revenue figures have no currency in the API, so none is invented here. */
export function formatMoney(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

interface Timestamps {
  status: string;
  created_at: string;
  started_at: string | null;
  completed_at?: string | null;
  failed_at?: string | null;
  cancelled_at?: string | null;
  resolved_at?: string | null;
}

/** The end timestamp matching the status (the API sends exactly one of them). */
export function endedAt(t: Timestamps): string | null {
  return t.completed_at ?? t.failed_at ?? t.cancelled_at ?? t.resolved_at ?? null;
}

/** Seconds from start (or creation) to end, or to now while the task is still open. */
export function elapsedSeconds(t: Timestamps, now: number): number | null {
  const start = parseTime(t.started_at) ?? parseTime(t.created_at);
  if (start === null) return null;
  const end = parseTime(endedAt(t));
  if (end !== null) return (end - start) / 1000;
  // The browser's clock and a once-a-second `now` can trail the server's timestamps by a little.
  if (t.status === 'pending' || t.status === 'in_progress') return Math.max(0, now - start) / 1000;
  return null;
}
