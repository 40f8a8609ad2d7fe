/**
 * Which tasks changed, for live views (the console's stream). Commits in this process `touch` the ids of
 * the tasks they wrote; every `flushMs` the batch goes to local listeners and, where the store can
 * (PostgreSQL NOTIFY), to every other process, so a console sees changes whichever process committed them.
 * Changes another process made arrive through the store's `listenChanges` while anyone listens here.
 *
 * Deliberately lossy and cheap: ids only (listeners read the current state themselves), one publish per
 * flush, and `resync` when a batch is too big to name every task. Nothing here can slow a commit: touch
 * adds to a set; the publish runs after the commit, off the worker's path, and its failure is only logged.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ChangeNotice, TaskStore } from '../store/port.js';

export type ChangeBatch = ChangeNotice;
export type ChangeListener = (batch: ChangeBatch) => void;

export interface ChangeFeedOptions {
  /** How long touched ids gather before they are delivered. @default 100 */
  flushMs?: number;
  /** Publish this process's changes to other processes (when the store can). @default true */
  publish?: boolean;
}

/**
 * A flush naming more tasks than this becomes a resync: past it, listeners would read more rows than a
 * refetch of what is on screen costs. (Other processes get the ids in NOTIFY-sized chunks: see the store.)
 */
export const MAX_BATCH_IDS = 5000;

export class ChangeFeed {
  private pending = new Set<string>();
  private overflow = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<ChangeListener>();
  private stopRemote: Promise<(() => Promise<void>) | null> | undefined;
  private readonly flushMs: number;
  private readonly publish: boolean;
  private publishing: Promise<void> = Promise.resolve();
  private closed = false;
  /** Tags this process's notices, so its own come back from LISTEN are not delivered twice. */
  private readonly origin = randomBytes(6).toString('hex');

  constructor(
    private readonly store: TaskStore,
    private readonly logger: Logger,
    opts: ChangeFeedOptions = {},
  ) {
    this.flushMs = opts.flushMs ?? 100;
    this.publish = (opts.publish ?? true) && store.publishChanges !== undefined;
  }

  /** Tasks whose rows a commit of this process wrote. */
  touch(taskIds: Iterable<string>): void {
    // Nobody here listens and nobody elsewhere can be told: nothing to do (the SQLite hot path).
    if (this.closed || (!this.publish && this.listeners.size === 0)) return;
    for (const id of taskIds) {
      if (this.pending.size >= MAX_BATCH_IDS) {
        this.overflow = true;
        break;
      }
      this.pending.add(id);
    }
    if (this.pending.size > 0 && !this.timer) {
      this.timer = setTimeout(() => this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  /** Receive batches (local and remote). Returns an unsubscribe function. */
  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1 && this.store.listenChanges && !this.stopRemote) {
      this.stopRemote = this.store
        .listenChanges(
          (notice, origin) => {
            if (origin !== this.origin) this.deliver(notice);
          },
          (err) => this.logger.warn({ err }, 'change feed: listening for other processes failed; retrying'),
        )
        .catch((err: unknown) => {
          this.logger.warn({ err }, 'change feed: cannot listen for other processes; local changes only');
          return null;
        });
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.stopListening();
    };
  }

  private async stopListening(): Promise<void> {
    const stop = this.stopRemote;
    this.stopRemote = undefined;
    const fn = await stop;
    await fn?.().catch(() => {});
  }

  private flush(): void {
    this.timer = undefined;
    const notice: ChangeNotice = this.overflow ? { resync: 'overflow' } : { taskIds: [...this.pending] };
    this.pending = new Set();
    this.overflow = false;
    this.deliver(notice);
    if (this.publish && this.store.publishChanges) {
      const publishChanges = (n: ChangeNotice) =>
        this.store.publishChanges?.(n, this.origin) ?? Promise.resolve();
      // One at a time: a slow database delays the next notice, never a commit.
      this.publishing = this.publishing.then(() =>
        publishChanges(notice).catch((err: unknown) => {
          this.logger.debug({ err }, 'change feed: publish failed (live views resync on their next change)');
        }),
      );
    }
  }

  private deliver(notice: ChangeNotice): void {
    for (const l of this.listeners) {
      try {
        l(notice);
      } catch (err) {
        this.logger.error({ err }, 'change feed listener threw');
      }
    }
  }

  /** Deliver what is pending, stop listening, wait for the last publish. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.flush();
    }
    this.closed = true;
    this.listeners.clear();
    await this.stopListening();
    await this.publishing;
  }
}
