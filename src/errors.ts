/**
 * One error base class with stable string codes. Callers (CLI, HTTP API, tests) branch on `code`, never on
 * message text; `details` carries the context (task id, step, file, field) the message was built from.
 */

export type TaskerErrorCode =
  | 'TEMPLATE_INVALID'
  | 'TEMPLATE_NOT_FOUND'
  | 'HANDLER_NOT_FOUND'
  | 'HANDLERS_MODULE_INVALID'
  | 'CONTEXT_INVALID'
  | 'TASK_NOT_FOUND'
  | 'STEP_NOT_FOUND'
  | 'ILLEGAL_TRANSITION'
  | 'INVALID_ARGUMENT'
  | 'CONFIG_INVALID'
  | 'DATABASE_UNAVAILABLE'
  | 'DATABASE_LOCKED'
  | 'SCHEMA_VERSION_MISMATCH'
  | 'EVENT_NAME_RESERVED'
  | 'NOT_SERIALIZABLE'
  | 'ENGINE_STOPPED'
  | 'WAIT_TIMEOUT'
  | 'STORE_CONFLICT'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'ROUTE_NOT_FOUND'
  | 'INVALID_JSON'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'STREAM_LIMIT'
  | 'FAILURE_GROUP_NOT_FOUND'
  | 'BULK_JOB_NOT_FOUND'
  | 'TOO_MANY_TASKS'
  | 'ARCHIVE_FAILED'
  | 'INTERNAL';

export class TaskerError extends Error {
  readonly code: TaskerErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: TaskerErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TaskerError';
    this.code = code;
    this.details = details;
  }
}

/** One problem found while validating a template or a context; `path` is a dotted field path. */
export interface ValidationIssue {
  path: string;
  message: string;
  file?: string | undefined;
  line?: number | undefined;
  column?: number | undefined;
}

export class ValidationError extends TaskerError {
  readonly issues: readonly ValidationIssue[];

  constructor(
    code: TaskerErrorCode,
    summary: string,
    issues: ValidationIssue[],
    details: Record<string, unknown> = {},
  ) {
    super(code, `${summary}\n${issues.map((i) => `  - ${formatIssue(i)}`).join('\n')}`, details);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

export function formatIssue(i: ValidationIssue): string {
  const where = i.file ? `${i.file}${i.line ? `:${i.line}:${i.column ?? 1}` : ''}: ` : '';
  return `${where}${i.path ? `${i.path}: ` : ''}${i.message}`;
}

/**
 * Thrown by a handler when retrying cannot help (bad input, business rule violated). Detected by the
 * `retryable === false` property rather than `instanceof`, so it works across duplicate package copies.
 */
export class PermanentError extends Error {
  readonly retryable = false as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

/** Thrown by a handler for a transient failure; `retryAfterSeconds` overrides the backoff (capped). */
export class RetryableError extends Error {
  readonly retryable = true as const;
  readonly retryAfterSeconds: number | undefined;
  constructor(message: string, options?: { retryAfterSeconds?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RetryableError';
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** What the engine records about any thrown value: handlers may throw strings, objects, or nothing at all. */
export interface NormalizedFailure {
  message: string;
  errorType: string;
  retryable: boolean;
  retryAfterSeconds?: number | undefined;
  stack?: string | undefined;
}

export function normalizeThrown(thrown: unknown): NormalizedFailure {
  if (thrown instanceof Error) {
    const t = thrown as Error & { retryable?: unknown; retryAfterSeconds?: unknown };
    const retryAfter =
      typeof t.retryAfterSeconds === 'number' && t.retryAfterSeconds >= 0 ? t.retryAfterSeconds : undefined;
    return {
      message: t.message || t.name,
      errorType: t.name || t.constructor.name || 'Error',
      retryable: t.retryable !== false,
      retryAfterSeconds: retryAfter,
      stack: t.stack,
    };
  }
  if (thrown !== null && typeof thrown === 'object') {
    const o = thrown as { message?: unknown; retryable?: unknown; name?: unknown };
    let text: string;
    try {
      text = typeof o.message === 'string' ? o.message : JSON.stringify(thrown);
    } catch {
      text = Object.prototype.toString.call(thrown);
    }
    return {
      message: `non-Error thrown: ${text}`,
      errorType: typeof o.name === 'string' ? o.name : 'NonErrorThrown',
      retryable: o.retryable !== false,
    };
  }
  return { message: `non-Error thrown: ${String(thrown)}`, errorType: 'NonErrorThrown', retryable: true };
}
