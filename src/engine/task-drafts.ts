/**
 * createTask's input, checked and turned into the rows of a new task: the template looked up, the context
 * validated as it will be stored, every handler present, tags, correlation id and traceparent checked.
 * Nothing here writes; a batch is drafted whole before the store sees any of it.
 */
import type { Logger } from 'pino';
import { toJsonValue } from '../core/json.js';
import { buildNewTask } from '../core/new-task.js';
import type { TaskCreatedDraft, TaskRecord } from '../core/records.js';
import type { TaskTemplate } from '../core/template.js';
import { formatTraceparent, parseTraceparent } from '../core/trace-context.js';
import { TaskerError, ValidationError } from '../errors.js';
import type { HandlerRegistry } from '../runtime/handlers.js';
import { isValidCorrelationId, newCorrelationId, uuidv7 } from '../runtime/ids.js';
import type { TaskTracing } from '../telemetry/tracing.js';
import { ContextValidator } from '../templates/context-validator.js';
import type { TemplateRegistry } from '../templates/registry.js';

export interface CreateTaskInput {
  namespace: string;
  name: string;
  /** Exact version; the latest registered version when omitted. */
  version?: string | undefined;
  context?: Record<string, unknown> | undefined;
  correlationId?: string | undefined;
  /** Creating twice with the same key returns the first task. */
  idempotencyKey?: string | undefined;
  tags?: string[] | undefined;
  /**
   * W3C traceparent of the span the task belongs to (e.g. the HTTP request that asked for it). With
   * tracing on and none given, the active span's context is used.
   */
  traceparent?: string | undefined;
}

export interface CreateTaskResult {
  task: TaskRecord;
  /** False when an idempotency key matched an existing task. */
  created: boolean;
}

export class TaskDrafts {
  private readonly contexts = new ContextValidator();

  constructor(
    private readonly templates: TemplateRegistry,
    private readonly handlers: HandlerRegistry,
    private readonly tracing: TaskTracing | undefined,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /** Every input drafted first: if any is invalid, none is created and the error names its index. */
  draftAll(inputs: readonly CreateTaskInput[]): TaskCreatedDraft[] {
    return inputs.map((input, i) => {
      try {
        return this.draft(input);
      } catch (err) {
        if (inputs.length > 1 && err instanceof TaskerError) {
          err.message = `tasks[${i}]: ${err.message}`;
        }
        throw err;
      }
    });
  }

  private draft(input: CreateTaskInput): TaskCreatedDraft {
    const template = this.templates.get(input.namespace, input.name, input.version);
    const context = input.context ?? {};
    if (typeof context !== 'object' || context === null || Array.isArray(context)) {
      throw new TaskerError(
        'INVALID_ARGUMENT',
        `context: expected a JSON object, got ${Array.isArray(context) ? 'an array' : typeof context}`,
        { field: 'context' },
      );
    }
    // Validate what will be stored, not what was given: JSON turns 1e400 into null, a Date into a string.
    const stored = toJsonValue(context, 'context') as Record<string, unknown>;
    this.contexts.validate(template, stored);
    if (this.handlers.size > 0) this.assertHandlers(template);
    const tags = input.tags ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string' && t.length > 0)) {
      throw new TaskerError('INVALID_ARGUMENT', 'tags: expected a list of non-empty strings', {
        field: 'tags',
      });
    }
    const now = this.now();
    let correlationId = input.correlationId;
    if (correlationId !== undefined && !isValidCorrelationId(correlationId)) {
      const replacement = newCorrelationId(now);
      this.logger.warn(
        { given: correlationId.slice(0, 120), correlation_id: replacement },
        'invalid correlation id replaced (expected [A-Za-z0-9][A-Za-z0-9_-]*, at most 100 characters)',
      );
      correlationId = replacement;
    }
    return buildNewTask(template, {
      id: uuidv7(now),
      traceparent: this.traceparentFor(input.traceparent),
      // The engine's own frozen copy: a caller reusing its object, or a handler mutating it, changes nothing.
      context: stored,
      correlationId: correlationId ?? newCorrelationId(now),
      idempotencyKey: input.idempotencyKey ?? null,
      tags: [...tags],
      now,
    });
  }

  private traceparentFor(given: string | undefined): string | null {
    if (given !== undefined) {
      const parsed = typeof given === 'string' ? parseTraceparent(given) : null;
      if (!parsed) {
        throw new TaskerError(
          'INVALID_ARGUMENT',
          `traceparent: expected a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>), got ${JSON.stringify(given).slice(0, 120)}`,
          { field: 'traceparent' },
        );
      }
      return formatTraceparent(parsed);
    }
    return this.tracing?.activeTraceparent() ?? null;
  }

  private assertHandlers(template: TaskTemplate): void {
    const missing = template.steps.filter((s) => !this.handlers.has(s.handler));
    if (missing.length === 0) return;
    throw new ValidationError(
      'HANDLER_NOT_FOUND',
      `cannot create ${template.namespace}/${template.name}@${template.version}: no handler registered for`,
      missing.map((s) => ({
        path: `steps.${s.name}.handler`,
        message: `unknown handler "${s.handler}"`,
        file: template.source,
      })),
      { template: `${template.namespace}/${template.name}@${template.version}` },
    );
  }
}
