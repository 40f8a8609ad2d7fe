/** What an attempt ended with, as reported by the runtime (or by lease recovery) to the planner. */
import type { NormalizedFailure } from '../errors.js';

interface OutcomeBase {
  taskId: string;
  stepId: number;
  attempt: number;
  /** The worker that held the lease: the fence. */
  workerId: string;
  startedAt: number;
  finishedAt: number;
  /** The attempt's span, when tracing: step events of this attempt name it, so logs join the trace. */
  spanId?: string | undefined;
}

export interface StepSuccess extends OutcomeBase {
  kind: 'success';
  results: unknown;
}

export interface StepFailure extends OutcomeBase {
  kind: 'failure';
  failure: NormalizedFailure;
}

export type StepOutcome = StepSuccess | StepFailure;

/** error_type values the engine itself assigns (others are the thrown error's class name). */
export const ENGINE_ERROR_TYPES = {
  timeout: 'timeout',
  workerLost: 'worker_lost',
  cancelled: 'cancelled',
  notSerializable: 'NotSerializable',
} as const;
