/**
 * Runs one claimed attempt and turns whatever happens into a StepOutcome. The timeout is enforced by
 * racing the handler against a timer, so an attempt fails on time even when the handler ignores its
 * AbortSignal (the abandoned promise keeps running, but its result is discarded by the fence).
 */
import type { Logger } from 'pino';
import { ENGINE_ERROR_TYPES, type StepOutcome } from '../core/outcomes.js';
import type { StepRecord } from '../core/records.js';
import { normalizeThrown, type NormalizedFailure } from '../errors.js';
import type { ClaimedStep } from '../store/port.js';
import type { ResolvedHandler, StepHandlerContext, StepView } from './handlers.js';

export interface ExecutionHooks {
  emit(claimed: ClaimedStep, name: string, payload: unknown): void;
  logger: Logger;
  now(): number;
}

export interface Execution {
  claimed: ClaimedStep;
  controller: AbortController;
  done: Promise<StepOutcome>;
}

type Settled = { kind: 'ok'; value: unknown } | { kind: 'fail'; failure: NormalizedFailure };

export function execute(
  claimed: ClaimedStep,
  handler: ResolvedHandler | undefined,
  workerId: string,
  hooks: ExecutionHooks,
): Execution {
  const controller = new AbortController();
  const startedAt = claimed.step.startedAt ?? hooks.now();
  const done = runAttempt(claimed, handler, controller, hooks).then((settled): StepOutcome => {
    const base = {
      taskId: claimed.task.id,
      stepId: claimed.step.id,
      attempt: claimed.step.attempts,
      workerId,
      startedAt,
      finishedAt: hooks.now(),
    };
    return settled.kind === 'ok'
      ? { kind: 'success', ...base, results: settled.value }
      : { kind: 'failure', ...base, failure: settled.failure };
  });
  return { claimed, controller, done };
}

async function runAttempt(
  claimed: ClaimedStep,
  handler: ResolvedHandler | undefined,
  controller: AbortController,
  hooks: ExecutionHooks,
): Promise<Settled> {
  const { step } = claimed;
  if (!handler) {
    return {
      kind: 'fail',
      failure: {
        message: `no handler registered for "${step.handler}" (step ${step.name}); register it in the handlers module`,
        errorType: 'HandlerNotFound',
        retryable: false,
      },
    };
  }
  const ctx = buildContext(claimed, controller.signal, hooks);
  let timer: NodeJS.Timeout | undefined;
  const stops: Array<Promise<Settled>> = [];
  if (step.timeoutMs !== null) {
    const ms = step.timeoutMs;
    stops.push(
      new Promise<Settled>((res) => {
        timer = setTimeout(() => {
          const failure = {
            message: `step ${step.name} timed out after ${ms / 1000} s (attempt ${step.attempts})`,
            errorType: ENGINE_ERROR_TYPES.timeout,
            retryable: true,
          };
          // Settle as a timeout before aborting: abort listeners run synchronously and must not win the race.
          res({ kind: 'fail', failure });
          controller.abort(Object.assign(new Error(failure.message), { name: 'TimeoutError' }));
        }, ms);
      }),
    );
  }
  // Cancellation (task cancelled, lease lost) ends the attempt at once; its outcome is then stale anyway.
  stops.push(
    new Promise<Settled>((res) => {
      controller.signal.addEventListener(
        'abort',
        () =>
          res({
            kind: 'fail',
            failure: {
              message: `attempt aborted: ${String(controller.signal.reason)}`,
              errorType: ENGINE_ERROR_TYPES.cancelled,
              retryable: true,
            },
          }),
        { once: true },
      );
    }),
  );
  const work = handler.run(ctx).then(
    (value): Settled => checkSerializable(value, step),
    (err: unknown): Settled => ({ kind: 'fail', failure: normalizeThrown(err) }),
  );
  try {
    return await Promise.race([work, ...stops]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

function checkSerializable(value: unknown, step: StepRecord): Settled {
  try {
    if (typeof value === 'function' || typeof value === 'symbol')
      throw new TypeError(`a ${typeof value} is not JSON`);
    JSON.stringify(value);
    return { kind: 'ok', value };
  } catch (err) {
    return {
      kind: 'fail',
      failure: {
        message: `step ${step.name} returned a value that cannot be stored as JSON: ${err instanceof Error ? err.message : String(err)}`,
        errorType: ENGINE_ERROR_TYPES.notSerializable,
        retryable: false,
      },
    };
  }
}

function buildContext(claimed: ClaimedStep, signal: AbortSignal, hooks: ExecutionHooks): StepHandlerContext {
  const { task, step, steps } = claimed;
  const views: StepView[] = steps.map((s) => ({
    name: s.name,
    status: s.status,
    results: s.results,
    attempts: s.attempts,
  }));
  let log: Logger | undefined;
  return {
    task: {
      id: task.id,
      namespace: task.namespace,
      name: task.name,
      version: task.version,
      context: task.context,
      correlationId: task.correlationId,
      tags: task.tags,
    },
    sequence: {
      findStepByName: (name) => views.find((v) => v.name === name),
      steps: views,
    },
    step: {
      name: step.name,
      attempt: step.attempts,
      maxAttempts: step.attemptLimit,
      handlerConfig: step.handlerConfig,
    },
    signal,
    // A child logger per attempt costs microseconds; most trivial handlers never log, so build it on demand.
    get log() {
      log ??= hooks.logger.child({
        task_id: task.id,
        correlation_id: task.correlationId,
        namespace: task.namespace,
        task_name: task.name,
        task_version: task.version,
        step_name: step.name,
        attempt: step.attempts,
      });
      return log;
    },
    emit: (name, payload) => hooks.emit(claimed, name, payload),
  };
}
