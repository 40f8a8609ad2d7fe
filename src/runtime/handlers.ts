/**
 * Step handlers: a record from handler name to either a function `(ctx) => results` or a class whose
 * instances have `process(ctx)` (and optionally `processResults(step, output)`, as in Tasker).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { TaskerError } from '../errors.js';
import type { StepState } from '../core/states.js';

export interface StepView {
  name: string;
  status: StepState;
  results: unknown;
  attempts: number;
}

export interface StepHandlerContext {
  task: {
    id: string;
    namespace: string;
    name: string;
    version: string;
    context: Record<string, unknown>;
    correlationId: string;
    tags: string[];
  };
  sequence: {
    findStepByName: (name: string) => StepView | undefined;
    readonly steps: readonly StepView[];
  };
  step: { name: string; attempt: number; maxAttempts: number; handlerConfig: Record<string, unknown> };
  /** Aborted at the step's timeout or when the task is cancelled. */
  signal: AbortSignal;
  log: Logger;
  /** Publish a custom event (names under task., step., workflow., tasker. are reserved). */
  emit: (name: string, payload?: unknown) => void;
}

export type StepHandlerFunction = (ctx: StepHandlerContext) => unknown;

export interface StepHandlerInstance {
  process(ctx: StepHandlerContext): unknown;
  processResults?(step: StepHandlerContext['step'], output: unknown): unknown;
}

export type StepHandlerClass = new () => StepHandlerInstance;

export type StepHandler = StepHandlerFunction | StepHandlerClass | StepHandlerInstance;

export type HandlerMap = Record<string, StepHandler>;

export interface ResolvedHandler {
  run(ctx: StepHandlerContext): Promise<unknown>;
}

function isClass(v: unknown): v is StepHandlerClass {
  return (
    typeof v === 'function' &&
    typeof (v as { prototype?: { process?: unknown } }).prototype?.process === 'function'
  );
}

function isInstance(v: unknown): v is StepHandlerInstance {
  return typeof v === 'object' && v !== null && typeof (v as { process?: unknown }).process === 'function';
}

export function resolveHandler(name: string, h: unknown): ResolvedHandler {
  if (isClass(h)) {
    return {
      async run(ctx) {
        const inst = new h();
        const out = await inst.process(ctx);
        return inst.processResults ? await inst.processResults(ctx.step, out) : out;
      },
    };
  }
  if (isInstance(h)) {
    return {
      async run(ctx) {
        const out = await h.process(ctx);
        return h.processResults ? await h.processResults(ctx.step, out) : out;
      },
    };
  }
  if (typeof h === 'function') {
    const fn = h as StepHandlerFunction;
    return {
      // Not `async`: a synchronous handler's result is then available without an extra turn of the loop.
      run(ctx) {
        try {
          return Promise.resolve(fn(ctx));
        } catch (err) {
          // A handler may throw anything; normalizeThrown makes sense of it later.
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
          return Promise.reject(err);
        }
      },
    };
  }
  throw new TaskerError(
    'HANDLERS_MODULE_INVALID',
    `handler "${name}" must be a function, a class with a process() method, or an object with process(); got ${h === null ? 'null' : typeof h}`,
    { handler: name },
  );
}

export class HandlerRegistry {
  private readonly handlers = new Map<string, ResolvedHandler>();

  constructor(map: HandlerMap = {}) {
    for (const [name, h] of Object.entries(map)) this.register(name, h);
  }

  register(name: string, h: StepHandler): void {
    this.handlers.set(name, resolveHandler(name, h));
  }

  get(name: string): ResolvedHandler | undefined {
    return this.handlers.get(name);
  }

  has(name: string): boolean {
    return this.handlers.has(name);
  }

  names(): Set<string> {
    return new Set(this.handlers.keys());
  }

  get size(): number {
    return this.handlers.size;
  }
}

/**
 * Import a handlers module. It may export `handlers` (a record), a default export (a record), or the
 * handlers as its named exports.
 */
export async function loadHandlersModule(path: string): Promise<HandlerMap> {
  const url = pathToFileURL(resolve(path)).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new TaskerError(
      'HANDLERS_MODULE_INVALID',
      `cannot load handlers module ${path}: ${err instanceof Error ? err.message : String(err)}`,
      { path },
      err,
    );
  }
  const candidate = (mod.handlers ?? mod.default ?? mod) as unknown;
  if (typeof candidate !== 'object' || candidate === null) {
    throw new TaskerError(
      'HANDLERS_MODULE_INVALID',
      `handlers module ${path} must export a record of handlers`,
      { path },
    );
  }
  const map: HandlerMap = {};
  for (const [k, v] of Object.entries(candidate as Record<string, unknown>)) {
    if (k === 'default' || k === 'handlers') continue;
    resolveHandler(k, v);
    map[k] = v as StepHandler;
  }
  return map;
}
