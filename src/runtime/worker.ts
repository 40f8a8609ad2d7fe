/**
 * The worker loop. One tick = one store transaction (`cycle`) that commits every attempt outcome gathered
 * since the previous tick, recovers expired leases when due, and claims as many ready steps as there is
 * free capacity. Only after the commit are outcomes acknowledged, events published and the newly claimed
 * steps started. Ticks never overlap; while one runs, finished attempts queue up for the next (that is the
 * group commit). Idle, the loop wakes for the earliest scheduled retry, a local notify(), or the poll.
 */
import type { Logger } from 'pino';
import type { StepOutcome } from '../core/outcomes.js';
import { isReservedEventName, type CustomEventPayload } from '../events/catalog.js';
import type { EventBus } from '../events/bus.js';
import { TaskerError } from '../errors.js';
import type { ClaimedStep, CycleResult, TaskStore } from '../store/port.js';
import { eventBase } from '../core/trace-context.js';
import type { AttemptObserver } from './attempt-observer.js';
import { execute, type Execution, type ExecutionHooks } from './executor.js';
import type { HandlerRegistry } from './handlers.js';
import { WorkerPresence } from './worker-presence.js';

export interface WorkerOptions {
  workerId: string;
  /** Steps running at once in this process. */
  concurrency: number;
  /** Steps of one task running at once in this process. */
  perTaskConcurrency: number | undefined;
  leaseMs: number;
  heartbeatMs: number;
  pollMs: number;
  recoveryIntervalMs: number;
  now: () => number;
  observer?: AttemptObserver | undefined;
  maskFailure?: ExecutionHooks['maskFailure'];
  handlerLogger?: ExecutionHooks['handlerLogger'];
  /** Record this worker in the registry (workers table). @default no registry */
  registry?: { version: string } | undefined;
  /** After each commit: the tasks whose rows it wrote (live views). Must not throw. */
  onCommitted?: ((taskIds: readonly string[]) => void) | undefined;
}

/** With a wake-up channel up, the longest an idle worker goes without looking at the store. */
const SAFETY_POLL_MS = 10_000;

export class Worker {
  private readonly running = new Map<number, Execution>();
  private readonly inFlightByTask = new Map<string, number>();
  private outcomes: StepOutcome[] = [];
  private scheduled = false;
  private ticking = false;
  private wantClaim = true;
  private stopping = false;
  private started = false;
  private nextRecoveryAt = 0;
  private wakeTimer: NodeJS.Timeout | undefined;
  private stopListening: (() => Promise<void>) | undefined;
  /** The store's wake-up channel is connected: other processes' work arrives by notification. */
  private channelUp = false;
  /** performance.now() of the last poll that looked at the store. */
  private lastLookAt = 0;
  /** The last cycle left a step ready that it did not claim: no notification will come for it. */
  private readyLeft = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly wantsEvent = (name: string) => this.bus.hasSubscribers(name);
  private handlerNames: ReadonlySet<string> = new Set();
  private presence: WorkerPresence | undefined;
  /** After a store error, no tick before this instant (backoff). */
  private retryAt = 0;
  /** Counters for the live summary and later for metrics. */
  readonly stats = {
    ticks: 0,
    emptyTicks: 0,
    claimed: 0,
    committed: 0,
    stale: 0,
    recovered: 0,
    storeErrors: 0,
  };

  constructor(
    private readonly store: TaskStore,
    private readonly handlers: HandlerRegistry,
    private readonly bus: EventBus,
    private readonly logger: Logger,
    private readonly opts: WorkerOptions,
  ) {}

  get id(): string {
    return this.opts.workerId;
  }

  get runningCount(): number {
    return this.running.size;
  }

  /**
   * Steps run here or their outcomes wait for a commit. Not "ready steps left": a step no worker has the
   * handler for stays ready for ever, and would keep this process "busy" with nothing to do.
   */
  get busy(): boolean {
    return this.running.size > 0 || this.outcomes.length > 0;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.handlerNames = this.handlers.names();
    this.stopping = false;
    this.pollTimer = setInterval(() => this.poll(), this.opts.pollMs);
    if (this.store.listen) {
      this.store
        .listen(
          () => this.notify(),
          (err) => {
            this.channelUp = false;
            this.logger.warn({ err }, 'wake-up channel lost; reconnecting (polling meanwhile)');
          },
          () => (this.channelUp = true),
        )
        .then(
          (stop) => {
            if (this.started) this.stopListening = stop;
            else void stop();
          },
          (err: unknown) => this.logger.warn({ err }, 'cannot listen for wake-ups; relying on polling'),
        );
    }
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.opts.heartbeatMs);
    if (this.opts.registry) {
      this.presence = new WorkerPresence(this.store, this.logger, {
        workerId: this.id,
        version: this.opts.registry.version,
        concurrency: this.opts.concurrency,
        handlers: [...this.handlerNames],
        intervalMs: this.opts.heartbeatMs,
        ttlMs: this.opts.leaseMs,
        now: this.opts.now,
        inFlight: () => this.running.size,
      });
      this.presence.start();
    }
    this.logger.debug({ worker_id: this.id, concurrency: this.opts.concurrency }, 'worker started');
    this.notify();
  }

  /**
   * Without a wake-up channel (SQLite, PostgreSQL while LISTEN is down) every poll looks at the store.
   * With one, new work arrives by notification and retries by the wake timer, so a poll looks only when
   * recovery is due, ready work was left behind, or SAFETY_POLL_MS passed; the others just mark the loop
   * alive (unless a store call hangs: then `ticking` stays set and alive() turns false).
   */
  private poll(): void {
    const now = performance.now();
    const due = this.opts.now() >= this.nextRecoveryAt;
    const quiet = this.channelUp && !due && !this.readyLeft;
    if (quiet && now - this.lastLookAt < Math.max(this.opts.pollMs, SAFETY_POLL_MS)) {
      if (!this.ticking && !this.scheduled) this.lastTickAt = now;
      return;
    }
    this.lastLookAt = now;
    this.notify();
  }

  /** Something may be ready (a task was created, a poll interval passed). */
  notify(): void {
    this.wantClaim = true;
    this.schedule();
  }

  /**
   * Stop claiming, let running attempts finish and commit (up to `timeoutMs`; then abort the rest and
   * record them as failed with error_type worker_stopped, to be retried), and stop the timers.
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    const deadline = Date.now() + timeoutMs;
    while ((this.running.size > 0 || this.outcomes.length > 0 || this.ticking) && Date.now() < deadline) {
      this.schedule();
      await new Promise((r) => setTimeout(r, 5));
    }
    if (this.running.size > 0) {
      // Out of patience: end the attempts and record them (retryable), so other workers take them over
      // now rather than after the lease expires.
      const left = [...this.running.values()];
      for (const ex of left) ex.abort('worker stopping', 'worker_stopped');
      await Promise.all(left.map((ex) => ex.done));
      const flushBy = Date.now() + 5_000;
      while ((this.outcomes.length > 0 || this.ticking) && Date.now() < flushBy) {
        this.schedule();
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    clearInterval(this.pollTimer);
    this.channelUp = false;
    clearInterval(this.heartbeatTimer);
    await this.presence?.stop();
    this.presence = undefined;
    await this.stopListening?.();
    this.stopListening = undefined;
    clearTimeout(this.wakeTimer);
    this.started = false;
  }

  /** Abort a running attempt of this worker (task cancelled). */
  abortStep(stepId: number, reason: string): void {
    this.running.get(stepId)?.abort(reason);
  }

  /** Resolves when nothing is running or queued (tests, graceful shutdown). */
  whenIdle(): Promise<void> {
    if (this.running.size === 0 && this.outcomes.length === 0 && !this.ticking) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private schedule(): void {
    if (this.scheduled || this.ticking || !this.started) return;
    this.scheduled = true;
    const wait = this.retryAt - Date.now();
    if (wait > 0) setTimeout(() => void this.tick(), wait);
    else setImmediate(() => void this.tick());
  }

  /** performance.now() of the last tick (an idle worker ticks at least every poll interval). */
  lastTickAt = 0;

  /**
   * Alive: started, and ticked within a few poll intervals. A loop stuck (a store call that never returns,
   * an event loop blocked by a handler) stops ticking and reads as stalled.
   */
  alive(): boolean {
    return this.started && performance.now() - this.lastTickAt < Math.max(5 * this.opts.pollMs, 10_000);
  }

  private async tick(): Promise<void> {
    this.scheduled = false;
    this.ticking = true;
    this.lastTickAt = performance.now();
    const now = this.opts.now();
    const outcomes = this.outcomes;
    this.outcomes = [];
    const capacity = this.stopping ? 0 : this.opts.concurrency - this.running.size;
    // Committing outcomes frees capacity and may make dependants ready: claim in the same transaction.
    const claim = (this.wantClaim || outcomes.length > 0) && capacity > 0;
    const recover = !this.stopping && now >= this.nextRecoveryAt;
    if (outcomes.length === 0 && !claim && !recover) {
      this.ticking = false;
      this.checkIdle();
      return;
    }
    this.wantClaim = false;
    let result: CycleResult;
    try {
      result = await this.store.cycle({
        workerId: this.id,
        now,
        outcomes,
        claim: claim
          ? {
              limit: capacity,
              leaseMs: this.opts.leaseMs,
              perTaskLimit: this.opts.perTaskConcurrency,
              inFlightByTask: this.inFlightByTask,
              handlers: this.handlerNames,
            }
          : null,
        recoverExpiredLeases: recover,
        wantsEvent: this.wantsEvent,
      });
    } catch (err) {
      this.onStoreError(err, outcomes);
      return;
    }
    this.failures = 0;
    this.stats.ticks += 1;
    if (result.applied.length === 0 && result.claimed.length === 0 && result.recovered === 0)
      this.stats.emptyTicks += 1;
    if (recover) this.nextRecoveryAt = now + this.opts.recoveryIntervalMs;
    this.afterCommit(result, claim ? capacity : 0);
    this.ticking = false;
    if (this.outcomes.length > 0 || (this.wantClaim && this.running.size < this.opts.concurrency))
      this.schedule();
    else this.checkIdle();
  }

  private afterCommit(result: CycleResult, asked: number): void {
    for (const { outcome, result: r } of result.applied) {
      this.release(outcome.taskId);
      if (r.applied) this.stats.committed += 1;
      else {
        this.stats.stale += 1;
        this.logger.warn(
          { task_id: outcome.taskId, step_id: outcome.stepId, attempt: outcome.attempt, reason: r.reason },
          'discarded the result of a stale attempt',
        );
      }
    }
    if (result.recovered > 0) {
      this.stats.recovered += result.recovered;
      this.logger.warn(
        { recovered: result.recovered },
        'recovered in-flight attempts of a lost worker (lease expired)',
      );
      this.wantClaim = true;
    }
    this.bus.publish(result.events);
    if (result.touched.length > 0) this.opts.onCommitted?.(result.touched);
    for (const c of result.claimed) this.launch(c);
    this.stats.claimed += result.claimed.length;
    // Completions may have made dependants ready; a full claim batch may have left more behind.
    if (result.applied.length > 0 || (asked > 0 && result.claimed.length >= asked)) this.wantClaim = true;
    this.armWakeTimer(result.nextReadyAt);
  }

  private launch(claimed: ClaimedStep): void {
    const ex = execute(claimed, this.handlers.get(claimed.step.handler), this.id, {
      logger: this.logger,
      now: this.opts.now,
      emit: (c, name, payload, spanId) => this.emitCustom(c, name, payload, spanId),
      observer: this.opts.observer,
      maskFailure: this.opts.maskFailure,
      handlerLogger: this.opts.handlerLogger,
    });
    // An older attempt of the same step still running here lost its lease (it was recovered): stop it.
    this.running.get(claimed.step.id)?.abort('superseded by a newer attempt');
    this.running.set(claimed.step.id, ex);
    this.inFlightByTask.set(claimed.task.id, (this.inFlightByTask.get(claimed.task.id) ?? 0) + 1);
    void ex.done.then((outcome) => {
      if (this.running.get(claimed.step.id) === ex) this.running.delete(claimed.step.id);
      this.outcomes.push(outcome);
      this.schedule();
    });
  }

  private release(taskId: string): void {
    const n = (this.inFlightByTask.get(taskId) ?? 1) - 1;
    if (n <= 0) this.inFlightByTask.delete(taskId);
    else this.inFlightByTask.set(taskId, n);
  }

  private emitCustom(c: ClaimedStep, name: string, payload: unknown, spanId: string | undefined): void {
    if (typeof name !== 'string' || name.length === 0 || isReservedEventName(name)) {
      throw new TaskerError(
        'EVENT_NAME_RESERVED',
        `custom event name "${String(name)}" is reserved for the engine's lifecycle events (task.*, step.*, workflow.*, tasker.*); pick another name`,
        { event: name },
      );
    }
    const p: CustomEventPayload = {
      ...eventBase(c.task, name, this.opts.now(), spanId),
      step_name: c.step.name,
      attempt: c.step.attempts,
      payload,
    };
    this.bus.publish([{ name, payload: p }]);
  }

  private armWakeTimer(nextReadyAt: number | null): void {
    clearTimeout(this.wakeTimer);
    this.readyLeft = false;
    if (nextReadyAt === null || this.stopping) return;
    const delay = Math.max(0, nextReadyAt - this.opts.now());
    // Ready now but not claimed (no capacity, another worker's handler, ready mid-cycle): the poll looks.
    this.readyLeft = delay === 0;
    if (delay === 0) return;
    // Exactly when the next retry is due, rather than at the next poll.
    this.wakeTimer = setTimeout(() => this.notify(), Math.min(delay + 1, 2_147_483_647));
  }

  private onStoreError(err: unknown, outcomes: StepOutcome[]): void {
    // Nothing was committed: keep the outcomes for the next try, so no result is lost.
    this.outcomes = outcomes.concat(this.outcomes);
    this.wantClaim = true;
    this.failures += 1;
    this.stats.storeErrors += 1;
    const delay = Math.min(5_000, 50 * 2 ** Math.min(this.failures, 7));
    this.logger.error({ err, retry_in_ms: delay, failures: this.failures }, 'store cycle failed; will retry');
    this.ticking = false;
    this.retryAt = Date.now() + delay;
    this.schedule();
  }

  private async heartbeat(): Promise<void> {
    if (this.running.size === 0) return;
    const leases = [...this.running.values()].map((ex) => ({
      taskId: ex.claimed.task.id,
      stepId: ex.claimed.step.id,
      attempt: ex.claimed.step.attempts,
    }));
    try {
      const lost = await this.store.heartbeat(this.id, leases, this.opts.now() + this.opts.leaseMs);
      for (const l of lost) {
        const ex = this.running.get(l.stepId);
        if (ex?.claimed.step.attempts === l.attempt) ex.abort('lease lost (step cancelled or taken over)');
      }
    } catch (err) {
      this.logger.error({ err }, 'lease heartbeat failed');
    }
  }

  private checkIdle(): void {
    if (this.running.size > 0 || this.outcomes.length > 0 || this.ticking) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
