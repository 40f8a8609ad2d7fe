/**
 * The worker registry, seen from one worker: a row saved when the worker starts, on every heartbeat (with
 * the steps it runs), and when it stops cleanly. The row's expiry is the lease's: a worker that stops
 * heartbeating is reported lost at the moment its leases become recoverable. One small upsert per
 * heartbeat interval (10 s by default), off the claim path: the registry costs the engine nothing per step.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { TaskStore, WorkerRecord } from '../store/port.js';

export interface PresenceOptions {
  workerId: string;
  version: string;
  concurrency: number;
  handlers: readonly string[];
  intervalMs: number;
  /** How long a heartbeat vouches for the worker (the lease duration). */
  ttlMs: number;
  now: () => number;
  inFlight: () => number;
}

export class WorkerPresence {
  private timer: NodeJS.Timeout | undefined;
  private record: WorkerRecord | undefined;
  /** Saves run one at a time, so a slow store never reorders a heartbeat after the stop. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: TaskStore,
    private readonly logger: Logger,
    private readonly opts: PresenceOptions,
  ) {}

  start(): void {
    const now = this.opts.now();
    this.record = {
      id: this.opts.workerId,
      host: hostname(),
      pid: process.pid,
      version: this.opts.version,
      startedAt: now,
      heartbeatAt: now,
      expiresAt: now + this.opts.ttlMs,
      stoppedAt: null,
      concurrency: this.opts.concurrency,
      inFlight: 0,
      handlers: [...this.opts.handlers].sort(),
    };
    this.save();
    this.timer = setInterval(() => this.beat(), this.opts.intervalMs);
    this.timer.unref();
  }

  private beat(): void {
    if (!this.record) return;
    const now = this.opts.now();
    this.record = {
      ...this.record,
      heartbeatAt: now,
      expiresAt: now + this.opts.ttlMs,
      inFlight: this.opts.inFlight(),
    };
    this.save();
  }

  /** Mark the worker stopped (awaited, so a clean shutdown is never reported as a lost worker). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (!this.record) return;
    const now = this.opts.now();
    this.record = { ...this.record, heartbeatAt: now, stoppedAt: now, inFlight: 0 };
    this.save();
    this.record = undefined;
    await this.chain;
  }

  private save(): void {
    const snapshot = this.record;
    if (!snapshot) return;
    this.chain = this.chain.then(() =>
      this.store.saveWorker(snapshot).catch((err: unknown) => {
        this.logger.warn({ err, worker_id: snapshot.id }, 'worker registry: could not save this worker');
      }),
    );
  }
}
