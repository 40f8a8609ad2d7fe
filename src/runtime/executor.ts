/**
 * Runs one claimed attempt and turns whatever happens into a StepOutcome. The timeout is enforced by
 * racing the handler against a timer, so an attempt fails on time even when the handler ignores its
 * AbortSignal (the abandoned promise keeps running, but its result is discarded by the fence).
 */
import type { Logger } from 'pino';
import { ENGINE_ERROR_TYPES, type StepOutcome } from '../core/outcomes.js';
import { toJsonValue } from '../core/json.js';
import type { StepRecord } from '../core/records.js';
import { normalizeThrown, type NormalizedFailure } from '../errors.js';
import type { ClaimedStep } from '../store/port.js';
import type { AttemptObserver, AttemptScope } from './attempt-observer.js';
import type { ResolvedHandler, StepHandlerContext, StepView } from './handlers.js';

export interface ExecutionHooks {
  emit(claimed: ClaimedStep, name: string, payload: unknown, spanId: string | undefined): void;
  logger: Logger;
  now(): number;
  /** Tracing, when on. */
  observer?: AttemptObserver | undefined;
  /** Masks sensitive context values a failure message may echo (it is stored, logged and shown). */
  maskFailure?: ((claimed: ClaimedStep, failure: NormalizedFailure) => NormalizedFailure) | undefined;
  /** The handler's `log`, given the attempt's fields (may wrap it to mask the task's sensitive values). */
  handlerLogger?: ((claimed: ClaimedStep, fields: Record<string, unknown>) => Logger) | undefined;
}

export interface Execution {
  claimed: ClaimedStep;
  /**
   * End the attempt now. After a cancel or a lost lease its outcome is stale (the fence discards it);
   * at shutdown it is recorded as a retryable failure of the given error type.
   */
  abort(reason: string, errorType?: string): void;
  done: Promise<StepOutcome>;
}

type Settled = { kind: 'ok'; value: unknown } | { kind: 'fail'; failure: NormalizedFailure };

/**
 * Settles exactly once, from whichever comes first: the handler, the timeout, or an abort. The
 * AbortController is only created if the handler looks at `signal` (most trivial handlers never do).
 */
export function execute(
  claimed: ClaimedStep,
  handler: ResolvedHandler | undefined,
  workerId: string,
  hooks: ExecutionHooks,
): Execution {
  const { step } = claimed;
  const startedAt = step.startedAt ?? hooks.now();
  const scope = safeScope(hooks, claimed, startedAt);
  let controller: AbortController | undefined;
  let abortReason: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  let settle!: (s: Settled) => void;
  const settledPromise = new Promise<Settled>((resolve) => {
    let settled = false;
    settle = (s) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      resolve(s);
    };
  });
  const stop = (reason: Error, as: Settled) => {
    settle(as); // before aborting: abort listeners run synchronously and must not decide the outcome
    abortReason ??= reason;
    controller?.abort(reason);
  };
  const signal = () => {
    if (!controller) {
      controller = new AbortController();
      if (abortReason) controller.abort(abortReason);
    }
    return controller.signal;
  };

  if (!handler) {
    settle({
      kind: 'fail',
      failure: {
        message: `no handler registered for "${step.handler}" (step ${step.name}); register it in the handlers module`,
        errorType: 'HandlerNotFound',
        retryable: false,
      },
    });
  } else {
    if (step.timeoutMs !== null) {
      const ms = step.timeoutMs;
      timer = setTimeout(() => {
        const message = `step ${step.name} timed out after ${ms / 1000} s (attempt ${step.attempts})`;
        stop(Object.assign(new Error(message), { name: 'TimeoutError' }), {
          kind: 'fail',
          failure: { message, errorType: ENGINE_ERROR_TYPES.timeout, retryable: true },
        });
      }, ms);
    }
    const ctx = buildContext(claimed, signal, hooks, scope);
    (scope ? scope.run(() => handler.run(ctx)) : handler.run(ctx)).then(
      (value) => settle(checkSerializable(value, step)),
      (err: unknown) => settle({ kind: 'fail', failure: describeThrown(err) }),
    );
  }

  const done = settledPromise.then((settled): StepOutcome => {
    const finishedAt = hooks.now();
    const base = {
      taskId: claimed.task.id,
      stepId: step.id,
      attempt: step.attempts,
      workerId,
      startedAt,
      finishedAt,
      spanId: scope?.spanId,
    };
    if (settled.kind === 'ok') {
      scope?.end({ kind: 'success' }, finishedAt);
      return { kind: 'success', ...base, results: settled.value };
    }
    const failure = hooks.maskFailure
      ? safeMask(hooks.maskFailure, claimed, settled.failure)
      : settled.failure;
    scope?.end({ kind: 'failure', failure }, finishedAt);
    return { kind: 'failure', ...base, failure };
  });
  return {
    claimed,
    done,
    abort: (reason, errorType = ENGINE_ERROR_TYPES.cancelled) =>
      stop(new Error(reason), {
        kind: 'fail',
        failure: { message: `attempt aborted: ${reason}`, errorType, retryable: true },
      }),
  };
}

/**
 * The observer's scope for this attempt, made unable to throw: a tracer or span processor failing (a
 * host's span processor throwing in onEnd) must never stop an attempt from running or being recorded.
 */
function safeScope(hooks: ExecutionHooks, claimed: ClaimedStep, startedAt: number): AttemptScope | undefined {
  const report = (phase: string, err: unknown) =>
    hooks.logger.error(
      { err, task_id: claimed.task.id, step_name: claimed.step.name },
      `attempt observer failed in ${phase}`,
    );
  let scope: AttemptScope | undefined;
  try {
    scope = hooks.observer?.start(claimed, startedAt);
  } catch (err) {
    report('start', err);
    return undefined;
  }
  if (!scope) return undefined;
  const inner = scope;
  return {
    spanId: inner.spanId,
    logFields: inner.logFields,
    run: (fn) => {
      let ran = false;
      try {
        return inner.run(() => {
          ran = true;
          return fn();
        });
      } catch (err) {
        if (ran) throw err; // the handler's own synchronous throw: the attempt's failure, not ours
        report('run', err);
        return fn();
      }
    },
    end: (how, finishedAt) => {
      try {
        inner.end(how, finishedAt);
      } catch (err) {
        report('end', err);
      }
    },
  };
}

function safeMask(
  mask: NonNullable<ExecutionHooks['maskFailure']>,
  claimed: ClaimedStep,
  failure: NormalizedFailure,
): NormalizedFailure {
  try {
    return mask(claimed, failure);
  } catch {
    // Never store text that may hold a secret: say what happened without echoing it.
    return {
      ...failure,
      message: `${failure.errorType} (message withheld: it could not be checked for secrets)`,
    };
  }
}

/** The value exactly as it will be stored (JSON round trip, frozen), or a permanent failure saying why not. */
function checkSerializable(value: unknown, step: StepRecord): Settled {
  try {
    return { kind: 'ok', value: toJsonValue(value, `the result of step ${step.name}`) };
  } catch (err) {
    return {
      kind: 'fail',
      failure: {
        message: err instanceof Error ? err.message : String(err),
        errorType: ENGINE_ERROR_TYPES.notSerializable,
        retryable: false,
      },
    };
  }
}

/** normalizeThrown must not throw (a thrown object with a throwing getter would otherwise hang the attempt). */
function describeThrown(err: unknown): NormalizedFailure {
  try {
    return normalizeThrown(err);
  } catch {
    return {
      message: 'a value was thrown that cannot be described',
      errorType: 'NonErrorThrown',
      retryable: true,
    };
  }
}

function buildContext(
  claimed: ClaimedStep,
  signal: () => AbortSignal,
  hooks: ExecutionHooks,
  scope: AttemptScope | undefined,
): StepHandlerContext {
  const { task, step, steps } = claimed;
  // Views are built on first use: most handlers never look at their siblings.
  let views: StepView[] | undefined;
  const allViews = () =>
    (views ??= steps.map((s) => ({
      name: s.name,
      status: s.status,
      results: s.results,
      attempts: s.attempts,
    })));
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
      findStepByName: (name) => allViews().find((v) => v.name === name),
      get steps() {
        return allViews();
      },
    },
    step: {
      name: step.name,
      attempt: step.attempts,
      maxAttempts: step.attemptLimit,
      handlerConfig: step.handlerConfig,
    },
    get signal() {
      return signal();
    },
    // A child logger per attempt costs microseconds; most trivial handlers never log, so build it on demand.
    get log() {
      if (log) return log;
      const fields = {
        task_id: task.id,
        correlation_id: task.correlationId,
        namespace: task.namespace,
        task_name: task.name,
        task_version: task.version,
        step_name: step.name,
        attempt: step.attempts,
        ...scope?.logFields,
      };
      log = hooks.handlerLogger ? hooks.handlerLogger(claimed, fields) : hooks.logger.child(fields);
      return log;
    },
    emit: (name, payload) => hooks.emit(claimed, name, payload, scope?.spanId),
  };
}
