/**
 * This process's worker, made on first start. Creating tasks and operator actions nudge it (new work, a
 * cancelled step to abort) whether or not it runs, so they hold the slot rather than the worker.
 */
import type { Worker } from '../runtime/worker.js';

export class WorkerSlot {
  private worker: Worker | undefined;

  /** `make` is the composition root's: the worker's collaborators and options are decided there. */
  constructor(private readonly make: () => Worker) {}

  get current(): Worker | undefined {
    return this.worker;
  }

  /** This process's worker has work in hand (the pruner rests longer meanwhile). */
  get busy(): boolean {
    return this.worker?.busy ?? false;
  }

  start(): void {
    (this.worker ??= this.make()).start();
  }

  /** Work is ready now: skip the poll interval. */
  notify(): void {
    this.worker?.notify();
  }

  abortSteps(stepIds: readonly number[], reason: string): void {
    for (const id of stepIds) this.worker?.abortStep(id, reason);
  }
}
