/**
 * The audit page's filters in the URL (`audit?actor=&action=&outcome=&task_id=`), the API query they make,
 * and an entry's detail as one line of text. Pure.
 */
import type { AuditQuery } from '../api/client';
import type { AuditEntry } from '../api/types';

export const AUDIT_FILTER_KEYS = ['actor', 'action', 'outcome', 'task_id'] as const;
export type AuditFilterKey = (typeof AUDIT_FILTER_KEYS)[number];
export type AuditFilters = Record<AuditFilterKey, string>;

export const AUDIT_ACTIONS = [
  'task.retry',
  'task.cancel',
  'step.resolve',
  'task.resolve',
  'bulk.retry',
  'bulk.cancel',
  'bulk.resolve_step',
  'bulk.finished',
  'bulk.stop',
] as const;

export const AUDIT_OUTCOMES = ['ok', 'refused', 'failed'] as const;

export function emptyAuditFilters(): AuditFilters {
  return { actor: '', action: '', outcome: '', task_id: '' };
}

export function parseAuditSearch(search: string): AuditFilters {
  const params = new URLSearchParams(search);
  const filters = emptyAuditFilters();
  for (const key of AUDIT_FILTER_KEYS) filters[key] = (params.get(key) ?? '').trim();
  return filters;
}

/** Canonical form (fixed key order, no empties): equal views have equal URLs and cache keys. */
export function auditSearch(filters: AuditFilters): string {
  const params = new URLSearchParams();
  for (const key of AUDIT_FILTER_KEYS) {
    const value = filters[key].trim();
    if (value) params.set(key, value);
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function hasAuditFilters(filters: AuditFilters): boolean {
  return AUDIT_FILTER_KEYS.some((k) => filters[k].trim() !== '');
}

/** The filters as the API's query parameters (no empties). */
export function auditApiFilters(filters: AuditFilters): Omit<AuditQuery, 'limit' | 'cursor'> {
  const q: Omit<AuditQuery, 'limit' | 'cursor'> = {};
  for (const key of AUDIT_FILTER_KEYS) {
    const value = filters[key].trim();
    if (value) q[key] = value;
  }
  return q;
}

export function toAuditQuery(filters: AuditFilters, limit: number, cursor?: string | null): AuditQuery {
  return { ...auditApiFilters(filters), limit, ...(cursor ? { cursor } : {}) };
}

const DETAIL_MAX = 400;

function valueText(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  try {
    return JSON.stringify(value) ?? '—';
  } catch {
    return '(unreadable)';
  }
}

/**
 * A refused entry's `{error, message}` as "CODE: message"; any other detail as "key value · key value".
 * Always plain text (the page renders it as a text node); long details are cut.
 */
export function auditDetailText(detail: AuditEntry['detail'] | undefined): string | null {
  if (!detail || typeof detail !== 'object') return null;
  const parts: string[] = [];
  const { error, message, ...rest } = detail;
  const head = [error, message]
    .filter((v) => v !== undefined && v !== null && v !== '')
    .map(valueText)
    .join(': ');
  if (head) parts.push(head);
  for (const [key, value] of Object.entries(rest))
    parts.push(`${key.replace(/_/g, ' ')} ${valueText(value)}`);
  const text = parts.join(' · ');
  if (!text) return null;
  return text.length > DETAIL_MAX ? `${text.slice(0, DETAIL_MAX)}…` : text;
}

/** The first few task ids to link, and how many more the entry names. */
export function auditTasks(entry: Pick<AuditEntry, 'task_ids' | 'task_count'>, shown = 3) {
  const ids = entry.task_ids.slice(0, shown);
  return { ids, more: Math.max(0, Math.max(entry.task_count, entry.task_ids.length) - ids.length) };
}
