/**
 * "Why is this step not done yet?": one typed reason per unfinished step, with the evidence it rests on
 * (who runs it and until when its lease holds, when its backoff ends, which dependency it waits for and
 * why that one waits, whether any live worker can run it at all and how busy they are). Pure: the caller
 * supplies the clock, the live workers from the registry and the ready backlog.
 */
import { formatSeconds, plural } from './analysis.js';
import type { StepDescription, StepDisplayStatus, TaskDescription } from './task-description.js';

export const WAIT_REASONS = [
  'waiting_for_dependency',
  'no_free_slot',
  'queued',
  'no_worker_for_handler',
  'retry_backoff',
  'running',
  'lease_expired',
  'blocked_by_failure',
  'failed',
  'task_cancelled',
] as const;
export type WaitReason = (typeof WAIT_REASONS)[number];

interface Ready {
  readySince: number;
  /** Ready steps everywhere (every task, every worker). */
  backlog: number;
  /** Ready steps that became ready before this one (claimed first); null when not counted. */
  ahead: number | null;
  /** Slots of the live workers that have this step's handler, and how many of them are busy. */
  slotsInUse: number;
  slotsTotal: number;
  liveWorkers: number;
}

export type StepWait = { message: string } & (
  | {
      reason: 'waiting_for_dependency';
      dependencies: Array<{ step: string; status: StepDisplayStatus; reason: WaitReason | null }>;
    }
  | ({ reason: 'no_free_slot' | 'queued' } & Ready)
  | { reason: 'no_worker_for_handler'; handler: string; liveWorkers: number }
  | {
      reason: 'retry_backoff';
      until: number;
      attempt: number;
      maxAttempts: number;
      lastErrorType: string | null;
      lastErrorMessage: string | null;
    }
  | {
      reason: 'running';
      workerId: string | null;
      runningMs: number;
      leaseExpiresAt: number | null;
      timeoutMs: number | null;
      /** Null when the registry does not know the worker. */
      workerAlive: boolean | null;
    }
  | { reason: 'lease_expired'; workerId: string | null; expiredAt: number }
  | { reason: 'blocked_by_failure'; failedSteps: string[] }
  | {
      reason: 'failed';
      errorType: string | null;
      errorMessage: string | null;
      attempts: number;
      maxAttempts: number;
    }
  | { reason: 'task_cancelled' }
);

export interface LiveWorker {
  id: string;
  handlers: readonly string[];
  concurrency: number;
  inFlight: number;
}

export interface WaitContext {
  now: number;
  /** Workers the registry reports live. */
  liveWorkers: readonly LiveWorker[];
  /** Workers the registry knows to have stopped or been lost recently. */
  goneWorkers: ReadonlySet<string>;
  backlog: number;
  /** Where the store stops counting ready steps (a count at the cap reads "N+"). */
  countCap?: number | undefined;
  /** Ready steps that became ready before `readyAt` (null: not counted). */
  aheadOf: (readyAt: number) => number | null;
}

const FINISHED = new Set(['complete', 'resolved_manually']);

const iso = (ms: number) => new Date(ms).toISOString();
const ago = (ms: number) => formatSeconds(Math.max(0, ms) / 1000);

/** A short phrase for a dependency's own state, inside its dependant's sentence. */
const SHORT: Record<WaitReason, string> = {
  waiting_for_dependency: 'itself waiting for a dependency',
  no_free_slot: 'ready, waiting for a free worker slot',
  queued: 'ready, about to be claimed',
  no_worker_for_handler: 'no live worker has its handler',
  retry_backoff: 'in retry backoff',
  running: 'running',
  lease_expired: 'its worker was lost',
  blocked_by_failure: 'blocked by a failure',
  failed: 'failed',
  task_cancelled: 'cancelled',
};

/** The wait of every step that is not complete or resolved, by step name (dependencies first). */
export function explainWaits(d: TaskDescription, ctx: WaitContext): Map<string, StepWait> {
  const byName = new Map(d.steps.map((s) => [s.name, s]));
  const out = new Map<string, StepWait>();
  const visiting = new Set<string>();
  const explain = (s: StepDescription): StepWait | null => {
    if (FINISHED.has(s.status)) return null;
    const known = out.get(s.name);
    if (known) return known;
    // A cycle cannot be stored (templates are checked), but never recurse for ever on bad data.
    if (visiting.has(s.name)) return null;
    visiting.add(s.name);
    const w = explainOne(s, d, ctx, (dep) => {
      const step = byName.get(dep);
      return step ? explain(step) : null;
    });
    visiting.delete(s.name);
    out.set(s.name, w);
    return w;
  };
  for (const s of d.steps) explain(s);
  return out;
}

function explainOne(
  s: StepDescription,
  d: TaskDescription,
  ctx: WaitContext,
  depWait: (name: string) => StepWait | null,
): StepWait {
  const { now } = ctx;
  if (s.status === 'cancelled' || d.task.status === 'cancelled')
    return { reason: 'task_cancelled', message: 'cancelled with its task; nothing will run it' };
  if (s.status === 'error') {
    const error = s.errorType ? `${s.errorType}: ${s.errorMessage ?? ''}` : (s.errorMessage ?? 'an error');
    return {
      reason: 'failed',
      errorType: s.errorType,
      errorMessage: s.errorMessage,
      attempts: s.attempts,
      maxAttempts: s.maxAttempts,
      message: `failed for good after ${s.attempts} of ${s.maxAttempts} attempts (${error}); retry the task or resolve the step by hand`,
    };
  }
  if (s.displayStatus === 'blocked') {
    return {
      reason: 'blocked_by_failure',
      failedSteps: s.blockedBy,
      message: `cannot run: ${s.blockedBy.join(', ')} failed upstream; retry the task or resolve ${s.blockedBy.length === 1 ? 'that step' : 'those steps'}`,
    };
  }
  if (s.status === 'in_progress') {
    const expired = s.leaseExpiresAt !== null && s.leaseExpiresAt < now;
    if (expired) {
      return {
        reason: 'lease_expired',
        workerId: s.leaseOwner,
        expiredAt: s.leaseExpiresAt ?? now,
        message: `worker ${s.leaseOwner ?? '(unknown)'} stopped renewing its lease (expired ${iso(s.leaseExpiresAt ?? now)}, ${ago(now - (s.leaseExpiresAt ?? now))} ago); the next worker cycle records the attempt as worker_lost and retries it`,
      };
    }
    const owner = s.leaseOwner;
    const alive =
      owner === null
        ? null
        : ctx.liveWorkers.some((w) => w.id === owner)
          ? true
          : ctx.goneWorkers.has(owner)
            ? false
            : null;
    const runningMs = Math.max(0, now - (s.startedAt ?? now));
    const timeout = s.timeoutMs === null ? '' : `, times out at ${formatSeconds(s.timeoutMs / 1000)}`;
    const gone =
      alive === false
        ? `; that worker has stopped, so the attempt is recovered when the lease expires at ${iso(s.leaseExpiresAt ?? now)}`
        : `; lease held until ${iso(s.leaseExpiresAt ?? now)}`;
    return {
      reason: 'running',
      workerId: owner,
      runningMs,
      leaseExpiresAt: s.leaseExpiresAt,
      timeoutMs: s.timeoutMs,
      workerAlive: alive,
      message: `running attempt ${s.attempts} of ${s.maxAttempts} on worker ${owner ?? '(unknown)'} for ${ago(runningMs)}${timeout}${gone}`,
    };
  }
  if (s.status === 'waiting_for_retry' && s.readyAt !== null && s.readyAt > now) {
    const error = s.errorType ? `${s.errorType}: ${s.errorMessage ?? ''}` : (s.errorMessage ?? 'an error');
    return {
      reason: 'retry_backoff',
      until: s.readyAt,
      attempt: s.attempts,
      maxAttempts: s.maxAttempts,
      lastErrorType: s.errorType,
      lastErrorMessage: s.errorMessage,
      message: `attempt ${s.attempts} of ${s.maxAttempts} failed (${error}); the next attempt may start at ${iso(s.readyAt)} (in ${ago(s.readyAt - now)})`,
    };
  }
  if (s.readyAt === null) {
    const dependencies = s.dependsOn.flatMap((dep) => {
      const step = d.steps.find((x) => x.name === dep);
      if (step && FINISHED.has(step.status)) return [];
      return [{ step: dep, status: step?.displayStatus ?? 'pending', reason: depWait(dep)?.reason ?? null }];
    });
    const phrase = dependencies.map((x) => `${x.step} (${x.reason ? SHORT[x.reason] : x.status})`).join(', ');
    // Dependencies satisfied, yet not ready: its task failed (another step needs an operator), and steps
    // are made ready only while their task can run.
    if (dependencies.length === 0 && d.task.status === 'error') {
      return {
        reason: 'blocked_by_failure',
        failedSteps: d.failedSteps,
        message: `its task failed (${d.failedSteps.join(', ')} failed): it runs once the task is retried or ${d.failedSteps.length === 1 ? 'that step is' : 'those steps are'} resolved`,
      };
    }
    return {
      reason: 'waiting_for_dependency',
      dependencies,
      message:
        dependencies.length > 0
          ? `waiting for ${phrase}`
          : // Dependencies satisfied but not yet marked ready: only seen between two commits.
            'waiting to be marked ready',
    };
  }
  // Ready (its backoff over, or never failed): can any live worker run it, and is one free?
  const capable = ctx.liveWorkers.filter((w) => w.handlers.includes(s.handler));
  if (capable.length === 0) {
    return {
      reason: 'no_worker_for_handler',
      handler: s.handler,
      liveWorkers: ctx.liveWorkers.length,
      // "Registered": the registry knows only workers that record themselves (workerRegistry, the default).
      message:
        ctx.liveWorkers.length === 0
          ? `ready since ${iso(s.readyAt)}, but no registered worker is live: start one with handler "${s.handler}"`
          : `ready since ${iso(s.readyAt)}, but none of the ${plural(ctx.liveWorkers.length, 'live worker')} has handler "${s.handler}": deploy a worker that registers it`,
    };
  }
  const slotsTotal = capable.reduce((n, w) => n + w.concurrency, 0);
  const slotsInUse = Math.min(
    slotsTotal,
    capable.reduce((n, w) => n + w.inFlight, 0),
  );
  const ahead = ctx.aheadOf(s.readyAt);
  const ready: Ready = {
    readySince: s.readyAt,
    backlog: ctx.backlog,
    ahead,
    slotsInUse,
    slotsTotal,
    liveWorkers: capable.length,
  };
  const waited = `ready since ${iso(s.readyAt)} (${ago(now - s.readyAt)})`;
  const n = (x: number) => (ctx.countCap !== undefined && x >= ctx.countCap ? `${x}+` : String(x));
  if (slotsInUse >= slotsTotal) {
    return {
      reason: 'no_free_slot',
      ...ready,
      message: `${waited}, but all ${slotsTotal} slots of the ${plural(capable.length, 'worker')} with handler "${s.handler}" are busy; ${n(ctx.backlog)} step${ctx.backlog === 1 ? '' : 's'} ready in all${ahead === null ? '' : `, ${n(ahead)} ahead of this one`}`,
    };
  }
  return {
    reason: 'queued',
    ...ready,
    message: `${waited}; ${slotsTotal - slotsInUse} of ${slotsTotal} slots free, so a worker claims it at its next cycle${ahead === null ? '' : ` (${n(ahead)} ready ahead of it)`}`,
  };
}
