/** Identifiers: time-ordered task ids (UUIDv7, so B-tree inserts append), worker ids, correlation ids. */
import { randomBytes, randomFillSync } from 'node:crypto';
import { hostname } from 'node:os';

// One syscall per 4 KiB of randomness instead of one per id (each costs microseconds on a VM).
const pool = Buffer.allocUnsafe(4096);
let poolAt = pool.length;

function random(n: number): Buffer {
  if (poolAt + n > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += n;
  return pool.subarray(poolAt - n, poolAt);
}

let lastMs = -1;
let seq = 0;

/**
 * UUIDv7 with a 12-bit counter in rand_a (RFC 9562, method 1), so ids made by one process are strictly
 * increasing even within one millisecond: "newest first" by (created_at, id) is then exact.
 */
export function uuidv7(now: number = Date.now()): string {
  let ms = now;
  if (ms <= lastMs) {
    seq += 1;
    ms = lastMs;
    if (seq > 0xfff) {
      ms = lastMs + 1;
      seq = 0;
    }
  } else {
    seq = random(1)[0] ?? 0; // random start, leaving room to count up
  }
  lastMs = ms;
  const b = Buffer.from(random(16));
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | ((seq >> 8) & 0x0f);
  b[7] = seq & 0xff;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Tasker's format: `tsk_<base36 epoch ms>_<6 alphanumerics>`. */
export function newCorrelationId(now: number = Date.now()): string {
  const r = random(6);
  let suffix = '';
  for (const byte of r) suffix += ALNUM[byte % ALNUM.length];
  return `tsk_${now.toString(36)}_${suffix}`;
}

export const CORRELATION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
export const CORRELATION_ID_MAX = 100;

export function isValidCorrelationId(v: string): boolean {
  return v.length <= CORRELATION_ID_MAX && CORRELATION_ID_PATTERN.test(v);
}
