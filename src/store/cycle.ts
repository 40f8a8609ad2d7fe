/**
 * One cycle, written once for both adapters: record the outcomes, recover expired leases, claim ready
 * steps, write everything, and find the next ready time. Decisions are the CyclePlanner's; an adapter
 * only answers the I/O requests (CycleIO) inside the transaction it opened: SQLite synchronously,
 * PostgreSQL with a promise per round trip (see drive.ts).
 */
import { CyclePlanner, type StepRef } from '../core/cycle-planner.js';
import type { TaskSnapshot } from '../core/records.js';
import type { TaskWorkspace } from '../core/task-workspace.js';
import type { TaskerEvent } from '../events/catalog.js';
import { drive, driveAsync } from './drive.js';
import type { CycleInput, CycleResult } from './port.js';

/** Recovery looks at this many expired leases per cycle, so one cycle stays short after a mass crash. */
export const RECOVERY_BATCH = 100;

/**
 * Why tasks are loaded. PostgreSQL waits for the row locks of the tasks whose outcomes it records, skips
 * tasks another worker holds when recovering or claiming, and reads recovered tasks afresh (heartbeats move
 * lease expiries without a revision, and recovery judges them).
 */
export type LoadPurpose = 'outcomes' | 'recovery' | 'claim';

export interface CycleIO {
  /** Snapshots of these tasks, locked where the store locks rows; unknown (or skipped) tasks left out. */
  load(taskIds: string[], purpose: LoadPurpose): TaskSnapshot[];
  /** Steps whose lease expired before `now`, soonest expired first, at most `limit`. */
  expired(now: number, limit: number): StepRef[];
  /** Ready steps at `now` in ready order, of tasks that can run, with one of `handlers` (all: undefined). */
  ready(now: number, handlers: ReadonlySet<string> | undefined, limit: number): StepRef[];
  /** Write what the workspaces changed, fenced; their events in order and the tasks whose rows changed. */
  write(spaces: TaskWorkspace[], now: number): { events: TaskerEvent[]; touched: string[] };
  /** The earliest ready_at of any step (past or future). */
  nextReadyAt(): number | null;
}

/** The same requests, answered with promises. */
export type AsyncCycleIO = {
  [K in keyof CycleIO]: (...args: Parameters<CycleIO[K]>) => Promise<ReturnType<CycleIO[K]>>;
};

type Call = { [K in keyof CycleIO]: { op: K; args: Parameters<CycleIO[K]> } }[keyof CycleIO];

function* call<K extends keyof CycleIO>(
  op: K,
  ...args: Parameters<CycleIO[K]>
): Generator<Call, ReturnType<CycleIO[K]>, unknown> {
  return (yield { op, args } as Call) as ReturnType<CycleIO[K]>;
}

function* cycleSequence(input: CycleInput, random: () => number): Generator<Call, CycleResult, unknown> {
  const plan = new CyclePlanner(input.workerId, input.now, random, input.wantsEvent);
  function* load(
    refs: ReadonlyArray<{ taskId: string }>,
    purpose: LoadPurpose,
  ): Generator<Call, void, unknown> {
    const ids = plan.missing(refs.map((r) => r.taskId));
    if (ids.length > 0) plan.add(yield* call('load', ids, purpose));
  }
  try {
    yield* load(input.outcomes, 'outcomes');
    plan.applyOutcomes(input.outcomes);
    if (input.recoverExpiredLeases) {
      const expired = yield* call('expired', input.now, RECOVERY_BATCH);
      yield* load(expired, 'recovery');
      plan.recover(expired);
    }
    const rules = input.claim;
    if (rules && rules.limit > 0) {
      plan.claimReadyInMemory(rules);
      const room = plan.room(rules);
      if (room > 0) {
        // Over-fetch so a per-task limit does not starve the batch.
        const fetch =
          rules.perTaskLimit === undefined || rules.perTaskLimit >= rules.limit ? room : room * 2 + 16;
        const candidates = yield* call('ready', input.now, rules.handlers, fetch);
        yield* load(candidates, 'claim');
        plan.claimCandidates(candidates, rules);
      }
    }
    const { events, touched } = yield* call('write', [...plan.workspaces()], input.now);
    const nextReadyAt = yield* call('nextReadyAt');
    return {
      applied: plan.applied,
      claimed: plan.claimed,
      recovered: plan.recovered,
      events,
      nextReadyAt,
      touched,
    };
  } finally {
    // A finished generator may keep its frame reachable until the next full GC (one that a scavenge
    // happened to promote is a root for every later scavenge), and with it the planner: the cycle's
    // workspaces, some 250 per cycle, were then promoted too. Measured on the single-step bench:
    // +60 MiB peak RSS and about 5 % fewer steps/s until the planner let go of them here.
    plan.release();
  }
}

function invoke(io: CycleIO | AsyncCycleIO, c: Call): unknown {
  return (io[c.op] as (...args: unknown[]) => unknown).apply(io, c.args);
}

/** Inside the caller's (synchronous) transaction. */
export function runCycle(input: CycleInput, random: () => number, io: CycleIO): CycleResult {
  return drive(cycleSequence(input, random), (c) => invoke(io, c));
}

/** Inside the caller's transaction, one awaited request at a time. */
export function runCycleAsync(
  input: CycleInput,
  random: () => number,
  io: AsyncCycleIO,
): Promise<CycleResult> {
  return driveAsync(cycleSequence(input, random), (c) => invoke(io, c) as Promise<unknown>);
}

/** A step row's reference, as the planner names it. */
export function stepRef(row: { id: number; task_id: string }): StepRef {
  return { taskId: row.task_id, stepId: row.id };
}
