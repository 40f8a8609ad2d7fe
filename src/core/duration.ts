/**
 * Durations as people write them in config and templates (`7d`, `12h`, `30m`, `90s`, `2w`, `1d12h`), and
 * `never` for "keep forever". Pure.
 */
import { TaskerError } from '../errors.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const WHOLE = /^(?:\d+(?:\.\d+)?[smhdw])+$/;
const PART = /(\d+(?:\.\d+)?)([smhdw])/g;

/** What a duration field expects, for error messages. */
export const DURATION_EXPECTED = 'a duration such as 7d, 12h, 30m, 90s or 2w';

/**
 * Milliseconds, or null for `never` when `allowNever`. Anything else is a CONFIG_INVALID naming `field`
 * and the value as given.
 */
export function parseDuration(value: unknown, field: string, allowNever = false): number | null {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  if (allowNever && text === 'never') return null;
  if (text === undefined || !WHOLE.test(text)) {
    throw new TaskerError(
      'CONFIG_INVALID',
      `${field}: expected ${DURATION_EXPECTED}${allowNever ? ' (or never)' : ''}, got ${JSON.stringify(value)}`,
      { field, value },
    );
  }
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1_000);
  if (!Number.isFinite(ms) || ms <= 0 || ms > 100 * 365 * 86_400_000) {
    throw new TaskerError(
      'CONFIG_INVALID',
      `${field}: expected a duration from 1s to 100 years, got ${JSON.stringify(value)}`,
      { field, value },
    );
  }
  return Math.round(ms);
}

/** The shortest exact spelling (`604800000` → `7d`, `5400000` → `1h30m`), for messages and reports. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return 'never';
  let left = Math.round(ms / 1000);
  if (left === 0) return '0s';
  const out: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(left / size);
    if (n > 0) out.push(`${n}${unit}`);
    left -= n * size;
  }
  return out.join('');
}
