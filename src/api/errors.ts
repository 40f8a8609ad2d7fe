/**
 * Every error leaves the API as `{error: <stable code>, message, details?}` with a fitting status, never
 * a stack trace. Engine errors keep their TaskerError code; Fastify's own (validation, body parsing) are
 * translated to ours, naming the parameter or field that was wrong.
 */
import type { FastifyError } from 'fastify';
import { TaskerError, ValidationError, type TaskerErrorCode } from '../errors.js';

const STATUS: Partial<Record<TaskerErrorCode, number>> = {
  TASK_NOT_FOUND: 404,
  STEP_NOT_FOUND: 404,
  TEMPLATE_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  FAILURE_GROUP_NOT_FOUND: 404,
  BULK_JOB_NOT_FOUND: 404,
  TOO_MANY_TASKS: 400,
  CONTEXT_INVALID: 400,
  INVALID_ARGUMENT: 400,
  INVALID_JSON: 400,
  NOT_SERIALIZABLE: 400,
  TEMPLATE_INVALID: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  ILLEGAL_TRANSITION: 409,
  STORE_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HANDLER_NOT_FOUND: 422,
  DATABASE_UNAVAILABLE: 503,
  DATABASE_LOCKED: 503,
  ENGINE_STOPPED: 503,
  STREAM_LIMIT: 503,
};

export interface ApiErrorBody {
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

export function toApiError(err: unknown): { status: number; body: ApiErrorBody } {
  if (err instanceof TaskerError) {
    const status = STATUS[err.code] ?? 500;
    if (status === 500) return internal();
    const details: Record<string, unknown> = { ...err.details };
    if (err instanceof ValidationError)
      details.issues = err.issues.map((i) => ({ path: i.path, message: i.message }));
    // One line for a JSON client: the summary, then each issue (also listed in details.issues).
    const message =
      err instanceof ValidationError
        ? `${err.message.split('\n')[0] ?? ''} ${err.issues.map((i) => `${i.path ? `${i.path}: ` : ''}${i.message}`).join('; ')}`
        : err.message;
    return {
      status,
      body: { error: err.code, message, ...(Object.keys(details).length ? { details } : {}) },
    };
  }
  const fe = err as Partial<FastifyError> & { validation?: unknown[]; validationContext?: string };
  if (Array.isArray(fe.validation)) return validation(fe.validation, fe.validationContext ?? 'request');
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: { error: 'PAYLOAD_TOO_LARGE', message: 'request body is larger than the limit' },
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: { error: 'UNSUPPORTED_MEDIA_TYPE', message: 'send the body as application/json' },
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: { error: 'INVALID_JSON', message: 'the JSON body is empty' } };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return {
        status: 400,
        body: { error: 'INVALID_JSON', message: `malformed JSON body: ${fe.message ?? ''}` },
      };
  }
  if (fe.statusCode === 400 && fe instanceof SyntaxError)
    return { status: 400, body: { error: 'INVALID_JSON', message: `malformed JSON body: ${fe.message}` } };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return {
      status: fe.statusCode,
      body: { error: 'INVALID_ARGUMENT', message: fe.message ?? 'bad request' },
    };
  }
  return internal();
}

function internal() {
  return { status: 500, body: { error: 'INTERNAL', message: 'internal error; see the server log' } };
}

interface AjvIssue {
  instancePath?: string;
  keyword?: string;
  params?: Record<string, unknown>;
  message?: string;
}

function validation(issues: unknown[], where: string) {
  const list = (issues as AjvIssue[]).map((i) => {
    const path = (i.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
    if (i.keyword === 'additionalProperties') {
      const name = str(i.params?.additionalProperty);
      const field = path ? `${path}.${name}` : name;
      return {
        field,
        message: where === 'querystring' ? `unknown query parameter "${field}"` : `unknown field "${field}"`,
      };
    }
    if (i.keyword === 'required') {
      const name = str(i.params?.missingProperty);
      const field = path ? `${path}.${name}` : name;
      return { field, message: `${field} is required` };
    }
    return { field: path || where, message: `${path || where} ${i.message ?? 'is invalid'}` };
  });
  return {
    status: 400,
    body: {
      error: 'INVALID_ARGUMENT',
      message: `${where}: ${list.map((l) => l.message).join('; ')}`,
      details: { location: where, errors: list },
    },
  };
}

const str = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '?');
