/**
 * CPU time from /proc (Linux), for the PostgreSQL bench's "where the time goes": the worker processes', and
 * the database server's when it runs on this machine. On 2 cores the engine and the server share the
 * machine, so per-step CPU on each side says more than throughput about what a change saved, and where.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK)

/** The fields after the command name of /proc/<pid>/stat (field 3 is index 0), or null. */
function statFields(pid: number): { comm: string; rest: string[] } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const open = s.indexOf('(');
    const close = s.lastIndexOf(')');
    return { comm: s.slice(open + 1, close), rest: s.slice(close + 2).split(' ') };
  } catch {
    return null;
  }
}

const ticks = (rest: string[], i: number): number => Number(rest[i] ?? 0);

/** User + system CPU seconds of one live process, or null when it cannot be read. */
export function processCpuSeconds(pid: number): number | null {
  const f = statFields(pid);
  return f ? (ticks(f.rest, 11) + ticks(f.rest, 12)) / TICKS_PER_SECOND : null;
}

/**
 * CPU seconds of every `postgres` process on this machine, plus what the postmaster collected from its
 * exited children (a backend that disconnected during the run). Null when there is none (a remote server).
 */
export function serverCpuSeconds(): number | null {
  let pids: number[];
  try {
    pids = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return null;
  }
  const procs = pids.flatMap((pid) => {
    const f = statFields(pid);
    return f && f.comm === 'postgres' ? [{ pid, ppid: Number(f.rest[1]), rest: f.rest }] : [];
  });
  if (procs.length === 0) return null;
  const own = new Set(procs.map((p) => p.pid));
  let t = 0;
  for (const p of procs) {
    t += ticks(p.rest, 11) + ticks(p.rest, 12);
    // The postmaster (its parent is not a postgres process) has its reaped children's time as cutime/cstime.
    if (!own.has(p.ppid)) t += ticks(p.rest, 13) + ticks(p.rest, 14);
  }
  return t / TICKS_PER_SECOND;
}
