/**
 * The task list's state lives in the URL query string so a view can be shared and Back works. This module
 * is the single translation between that query string, the API's query and the stream's matching rule.
 */
import type { TaskSummary } from '../api/types';

export const TASK_STATUSES = [
  'pending',
  'in_progress',
  'completed',
  'failed',
  'cancelled',
  'resolved_manually',
] as const;

/** The API also accepts the engine's own words; the stream always sends the seed's. */
const ENGINE_WORDS: Record<string, string> = { complete: 'completed', error: 'failed' };

export interface TaskFilters {
  status: string[];
  namespace: string;
  name: string;
  version: string;
  correlation_id: string;
  tag: string;
  created_after: string;
  created_before: string;
}

export interface ListState {
  filters: TaskFilters;
  cursor: string | null;
}

export const TEXT_FILTERS = [
  'namespace',
  'name',
  'version',
  'correlation_id',
  'tag',
  'created_after',
  'created_before',
] as const;

export type TextFilter = (typeof TEXT_FILTERS)[number];

export function emptyFilters(): TaskFilters {
  return {
    status: [],
    namespace: '',
    name: '',
    version: '',
    correlation_id: '',
    tag: '',
    created_after: '',
    created_before: '',
  };
}

function normaliseStatuses(values: string[]): string[] {
  const words = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v) => ENGINE_WORDS[v] ?? v);
  return [...new Set(words)].sort();
}

export function parseListSearch(search: string): ListState {
  const params = new URLSearchParams(search);
  const filters = emptyFilters();
  filters.status = normaliseStatuses(params.getAll('status'));
  for (const key of TEXT_FILTERS) filters[key] = (params.get(key) ?? '').trim();
  const cursor = params.get('cursor');
  return { filters, cursor: cursor ? cursor : null };
}

/** Canonical form (fixed key order, no empties) so equal views have equal URLs and cache keys. */
export function listSearch(state: ListState): string {
  const params = new URLSearchParams();
  for (const s of normaliseStatuses(state.filters.status)) params.append('status', s);
  for (const key of TEXT_FILTERS) {
    const value = state.filters[key].trim();
    if (value) params.set(key, value);
  }
  if (state.cursor) params.set('cursor', state.cursor);
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function hasFilters(filters: TaskFilters): boolean {
  return filters.status.length > 0 || TEXT_FILTERS.some((k) => filters[k].trim() !== '');
}

export function toApiQuery(state: ListState, limit: number) {
  const f = state.filters;
  return {
    status: f.status.length ? f.status : undefined,
    namespace: f.namespace || undefined,
    name: f.name || undefined,
    version: f.version || undefined,
    correlation_id: f.correlation_id || undefined,
    tag: f.tag || undefined,
    created_after: f.created_after || undefined,
    created_before: f.created_before || undefined,
    limit,
    cursor: state.cursor ?? undefined,
  };
}

/** ISO 8601 or epoch milliseconds, as the API accepts. */
export function parseBound(value: string): number | null {
  const v = value.trim();
  if (!v) return null;
  if (/^\d+$/.test(v)) return Number(v);
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : ms;
}

/** Whether a task (typically one from the stream) belongs in the list these filters describe. */
export function matchesFilters(task: TaskSummary, filters: TaskFilters): boolean {
  if (filters.status.length && !filters.status.includes(task.status)) return false;
  if (filters.namespace && task.namespace !== filters.namespace) return false;
  if (filters.name && task.name !== filters.name) return false;
  if (filters.version && task.version !== filters.version) return false;
  if (filters.correlation_id && task.correlation_id !== filters.correlation_id) return false;
  if (filters.tag && !task.tags.includes(filters.tag)) return false;
  const created = Date.parse(task.created_at);
  const after = parseBound(filters.created_after);
  if (after !== null && !(created >= after)) return false;
  const before = parseBound(filters.created_before);
  if (before !== null && !(created < before)) return false;
  return true;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type SearchTarget =
  { kind: 'empty' } | { kind: 'task'; id: string } | { kind: 'correlation'; value: string };

/** The search box takes a task id (go to it) or anything else as a correlation id (filter by it). */
export function classifySearch(input: string): SearchTarget {
  const value = input.trim();
  if (!value) return { kind: 'empty' };
  if (UUID.test(value)) return { kind: 'task', id: value.toLowerCase() };
  return { kind: 'correlation', value };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** ISO (or epoch ms) → the value a `<input type="datetime-local">` shows, in local time. */
export function toLocalInput(value: string): string {
  const ms = parseBound(value);
  if (ms === null) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value (local time) → ISO 8601 for the URL and the API. */
export function fromLocalInput(value: string): string {
  if (!value) return '';
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? '' : new Date(ms).toISOString();
}
