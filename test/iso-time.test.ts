/** isoTime writes exactly what Date#toISOString writes, faster; outside years 0000-9999 it is Date's. */
import { describe, expect, it } from 'vitest';
import { isoTime } from '../src/core/iso-time.js';

const date = (ms: number) => new Date(ms).toISOString();

describe('isoTime', () => {
  it('equals toISOString across the four-digit years, leap days and every millisecond boundary', () => {
    const fixed = [
      0,
      -1,
      1,
      999,
      1000,
      86_399_999,
      86_400_000,
      Date.UTC(2000, 1, 29, 23, 59, 59, 999),
      Date.UTC(2024, 1, 29),
      Date.UTC(1900, 1, 28, 12),
      Date.UTC(1900, 2, 1),
      Date.UTC(2100, 2, 1),
      Date.UTC(1969, 11, 31, 23, 59, 59, 999),
      -62_167_219_200_000, // 0000-01-01
      253_402_300_799_999, // 9999-12-31T23:59:59.999
      Date.UTC(999, 5, 6, 7, 8, 9, 10),
      Date.UTC(1999, 11, 31, 23, 59, 59, 999),
    ];
    for (const ms of fixed) expect(isoTime(ms)).toBe(date(ms));
    // A seeded walk over the whole range, each step a prime number of milliseconds.
    let ms = -62_167_219_200_000;
    while (ms < 253_402_300_799_999) {
      expect(isoTime(ms)).toBe(date(ms));
      ms += 3_155_695_200_007; // about a century and a bit
    }
    for (let i = 0, t = 1_796_169_170_404; i < 20_000; i++, t -= 7_919_371) expect(isoTime(t)).toBe(date(t));
  });

  it('leaves six-digit years and fractions of a millisecond to Date', () => {
    for (const ms of [-62_167_219_200_001, 253_402_300_800_000, 8.64e15, -8.64e15, 1.5, -0.5])
      expect(isoTime(ms)).toBe(date(ms));
  });
});
