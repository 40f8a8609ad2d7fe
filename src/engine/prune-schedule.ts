/**
 * The pruner in a worker process: every `retention.prune_interval` (the first one interval after the
 * worker starts), one prune under the store's prune lock, so on PostgreSQL only one of many workers
 * deletes at a time and the others skip that round. A failed prune is logged and tried again next time;
 * stopping the worker ends a prune in progress between two batches.
 */
import type { Logger } from 'pino';
import type { Pruner } from './pruner.js';

export class PruneSchedule {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;
  /** When the next prune is due (epoch ms), null while stopped. */
  nextAt: number | null = null;

  constructor(
    private readonly pruner: Pruner,
    private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.pruner.retention.enabled;
  }

  start(): void {
    if (!this.enabled || this.timer !== undefined) return;
    // Publish this process's templates' retention now, not at the first prune: another process may prune
    // before this one does.
    this.pruner
      .publish()
      .catch((err: unknown) => this.logger.warn({ err }, 'cannot publish template retention'));
    this.arm();
  }

  private arm(): void {
    const ms = this.pruner.retention.intervalMs;
    this.nextAt = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.running = this.once().finally(() => {
        this.running = undefined;
        if (this.timer !== undefined) this.arm();
      });
    }, ms);
    this.timer.unref();
  }

  private async once(): Promise<void> {
    this.abort = new AbortController();
    try {
      const r = await this.pruner.prune({}, { signal: this.abort.signal });
      if (r.skipped !== null) this.logger.debug({ reason: r.skipped }, 'prune skipped');
    } catch (err) {
      this.logger.warn({ err }, 'prune failed; trying again at the next interval');
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.nextAt = null;
    this.abort?.abort();
    await this.running;
  }
}
