/**
 * Strict SemVer 2.0.0 parsing and precedence (https://semver.org). No ranges, no `v` prefix, no loose
 * forms: template versions are identifiers people compare by eye, so `1.0` or `v1.0.0` are rejected
 * rather than guessed at.
 */
import { TaskerError } from '../errors.js';

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  /** Dot-separated pre-release identifiers, e.g. `['rc', '1']`; empty for a release. */
  prerelease: string[];
}

const NUM = '0|[1-9]\\d*';
const PRE_ID = `(?:${NUM}|\\d*[A-Za-z-][0-9A-Za-z-]*)`;
const SEMVER_RE = new RegExp(
  `^(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?$`,
);

/** Source text of the strict SemVer pattern, shared with the JSON Schema so editors agree with the loader. */
export const SEMVER_PATTERN = SEMVER_RE.source;

export function parseSemver(v: string): SemVer | null {
  const m = SEMVER_RE.exec(v);
  if (!m) return null;
  const [major, minor, patch] = [m[1], m[2], m[3]].map(Number) as [number, number, number];
  // Beyond 2^53 two different versions could compare equal, so refuse instead of silently misordering.
  if (![major, minor, patch].every(Number.isSafeInteger)) return null;
  return { major, minor, patch, prerelease: m[4] ? m[4].split('.') : [] };
}

function isNumeric(id: string): boolean {
  return /^\d+$/.test(id);
}

function compareIdentifiers(a: string, b: string): number {
  const an = isNumeric(a);
  const bn = isNumeric(b);
  if (an && bn) {
    // No leading zeros are allowed, so length then lexical order is numeric order without overflow.
    if (a.length !== b.length) return a.length < b.length ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Precedence per SemVer §11: <0 when a < b, 0 when equal (build metadata ignored), >0 when a > b. */
export function compareSemver(a: string, b: string): number {
  const pa = parseSemver(a);
  const pb = parseSemver(b);
  if (!pa || !pb) {
    throw new TaskerError('INVALID_ARGUMENT', `not a semantic version: ${JSON.stringify(pa ? b : a)}`, {
      a,
      b,
    });
  }
  for (const k of ['major', 'minor', 'patch'] as const) {
    if (pa[k] !== pb[k]) return pa[k] < pb[k] ? -1 : 1;
  }
  // A pre-release sorts before its release: 1.0.0-rc.1 < 1.0.0.
  const aPre = pa.prerelease.length;
  const bPre = pb.prerelease.length;
  if (aPre === 0 || bPre === 0) return aPre === bPre ? 0 : aPre === 0 ? 1 : -1;
  const n = Math.min(pa.prerelease.length, pb.prerelease.length);
  for (let i = 0; i < n; i++) {
    const c = compareIdentifiers(pa.prerelease[i] ?? '', pb.prerelease[i] ?? '');
    if (c !== 0) return c;
  }
  return Math.sign(aPre - bPre);
}
