/** Query values the JSON schemas cannot fully check: timestamps, time ranges, repeatable status words. */
import type { TaskState } from '../core/states.js';
import type { TaskFilter } from '../store/port.js';
import { TaskerError } from '../errors.js';
import { isValidCorrelationId, newCorrelationId } from '../runtime/ids.js';
import { TASK_STATUS_FILTER, taskStateOf } from '../core/status-words.js';

const invalid = (field: string, value: unknown, expected: string) =>
  new TaskerError('INVALID_ARGUMENT', `${field}: expected ${expected}, got ${JSON.stringify(value)}`, {
    field,
    value,
  });

/** ISO 8601 (`2024-01-15T00:00:00Z`, `2024-01-15`) or epoch milliseconds. */
export function parseTime(field: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d{1,15}$/.test(value)
    ? Number(value)
    : /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)
      ? Date.parse(value)
      : NaN;
  if (!Number.isFinite(ms))
    throw invalid(field, value, 'an ISO 8601 time (2024-01-15T00:00:00Z) or epoch milliseconds');
  return ms;
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const MAX_RANGE_MS = 31 * UNIT_MS.d;

/** `90s`, `15m`, `1h`, `7d` (at most 31 days). */
export function parseRange(field: string, value: string | undefined, dflt: string): number {
  const v = value ?? dflt;
  const m = /^(\d{1,6})([smhd])$/.exec(v);
  const ms = m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : NaN;
  if (!(ms > 0) || ms > MAX_RANGE_MS)
    throw invalid(field, v, 'a duration such as 15m, 1h or 7d (at most 31d)');
  return ms;
}

export function parseStatuses(value: string[] | undefined): TaskState[] | undefined {
  if (value === undefined) return undefined;
  return value.flatMap((raw) =>
    raw.split(',').map((s) => {
      const st = taskStateOf(s);
      if (!st) throw invalid('status', s, `one of ${Object.keys(TASK_STATUS_FILTER).join(', ')}`);
      return st;
    }),
  );
}

/** The caller's correlation id when valid, else a generated one (`replaced` says the header was invalid). */
export function correlationFrom(header: string | string[] | undefined): {
  id: string;
  replaced: string | null;
} {
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined) return { id: newCorrelationId(), replaced: null };
  return isValidCorrelationId(v) ? { id: v, replaced: null } : { id: newCorrelationId(), replaced: v };
}

/** For routes that take no query parameters: any given is an error naming it, as on every other route. */
export const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;

/** The task-list filter as a request gives it: the list's query string, or a bulk action's `filter`. */
export interface ListFilterFields {
  status?: string[];
  namespace?: string;
  name?: string;
  version?: string;
  correlation_id?: string;
  tag?: string;
  created_after?: string;
  created_before?: string;
}

/** Those fields as the library's filter; `where` prefixes the field named in an error (`filter.`). */
export function listFilter(q: ListFilterFields, where = ''): Omit<TaskFilter, 'limit' | 'cursor'> {
  return {
    status: parseStatuses(q.status),
    namespace: q.namespace,
    name: q.name,
    version: q.version,
    correlationId: q.correlation_id,
    tag: q.tag,
    createdAfter: parseTime(`${where}created_after`, q.created_after),
    createdBefore: parseTime(`${where}created_before`, q.created_before),
  };
}
