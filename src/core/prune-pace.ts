/**
 * How long a prune rests after a batch. A prune competes with the engine for the same store (and, on a
 * small machine, the same cores), so it takes a bounded share of the time: a quarter while the engine is
 * idle, `busyShare` while it works. The share is of wall time, measured by what the batch itself took,
 * so a slow batch (a loaded store) buys a longer rest; a prune never stops altogether, so a store under
 * constant load is still pruned, at the busy share's pace.
 */

/** Idle: the rest is at least this many times the batch's own time (pruning takes ≤ a quarter). */
export const IDLE_BACK_OFF = 3;

/** No rest is longer than this: a prune that waits a minute between batches has fallen behind anyway. */
export const MAX_PAUSE_MS = 60_000;

export interface PaceOptions {
  /** The shortest rest (retention.batch_pause_ms); 0 turns pacing off (an operator's prune at full speed). */
  pauseMs: number;
  /** While the engine works, the most of the time a prune may take, (0, 1] (retention.busy_share). */
  busyShare: number;
}

/** The rest after a batch that took `batchMs`, the engine working (`busy`) or not. */
export function prunePause(batchMs: number, busy: boolean, o: PaceOptions): number {
  if (o.pauseMs === 0) return 0;
  const idle = Math.max(o.pauseMs, IDLE_BACK_OFF * batchMs);
  const rest = busy ? Math.max(idle, (batchMs * (1 - o.busyShare)) / o.busyShare) : idle;
  return Math.min(rest, Math.max(MAX_PAUSE_MS, o.pauseMs));
}
