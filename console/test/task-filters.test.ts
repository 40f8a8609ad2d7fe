import { describe, expect, it } from 'vitest';
import type { TaskSummary } from '../src/api/types';
import {
  classifySearch,
  emptyFilters,
  fromLocalInput,
  listSearch,
  matchesFilters,
  parseListSearch,
  toApiQuery,
  toLocalInput,
} from '../src/lib/task-filters';

const task = (over: Partial<TaskSummary> = {}): TaskSummary => ({
  id: '01a22e76-9bd4-7027-b516-89b64271612d',
  name: 'process_order',
  namespace: 'ecommerce',
  version: '2.1.3',
  full_name: 'ecommerce.process_order@2.1.3',
  status: 'failed',
  correlation_id: 'tsk_1',
  idempotency_key: null,
  tags: ['demo', 'eu'],
  created_at: '2026-11-30T12:00:00.000Z',
  started_at: null,
  updated_at: '2026-11-30T12:00:00.000Z',
  ...over,
});

describe('URL ⇄ filters', () => {
  it('reads repeated and comma-separated statuses, engine words included, deduplicated', () => {
    const s = parseListSearch('?status=failed&status=pending,error&status=complete');
    expect(s.filters.status).toEqual(['completed', 'failed', 'pending']);
  });

  it('round-trips every filter and the cursor through the query string', () => {
    const filters = {
      ...emptyFilters(),
      status: ['in_progress', 'failed'],
      namespace: 'ecommerce',
      name: 'process_order',
      version: '2.1.3',
      correlation_id: 'abc 123&x=1',
      tag: 'demo',
      created_after: '2026-11-30T10:00:00.000Z',
      created_before: '1796075851596',
    };
    const search = listSearch({ filters, cursor: 'MDFh' });
    const back = parseListSearch(search);
    expect(back.cursor).toBe('MDFh');
    expect(back.filters).toEqual({ ...filters, status: ['failed', 'in_progress'] });
  });

  it('writes a canonical form so equal views have equal URLs', () => {
    const a = listSearch({
      filters: { ...emptyFilters(), tag: 'x', status: ['pending', 'failed'] },
      cursor: null,
    });
    const b = listSearch({
      filters: { ...emptyFilters(), status: ['failed', 'pending'], tag: 'x' },
      cursor: null,
    });
    expect(a).toBe(b);
    expect(a).toBe('?status=failed&status=pending&tag=x');
    expect(listSearch({ filters: emptyFilters(), cursor: null })).toBe('');
  });

  it('builds the API query without empty filters', () => {
    const q = toApiQuery(parseListSearch('?status=failed&namespace=ecommerce&cursor=abc'), 50);
    expect(q).toEqual({
      status: ['failed'],
      namespace: 'ecommerce',
      name: undefined,
      version: undefined,
      correlation_id: undefined,
      tag: undefined,
      created_after: undefined,
      created_before: undefined,
      limit: 50,
      cursor: 'abc',
    });
  });
});

describe('matchesFilters', () => {
  it('matches on every field the list filters on', () => {
    const f = emptyFilters();
    expect(matchesFilters(task(), f)).toBe(true);
    expect(matchesFilters(task(), { ...f, status: ['pending', 'failed'] })).toBe(true);
    expect(matchesFilters(task(), { ...f, status: ['completed'] })).toBe(false);
    expect(matchesFilters(task(), { ...f, namespace: 'payments' })).toBe(false);
    expect(matchesFilters(task(), { ...f, name: 'refund' })).toBe(false);
    expect(matchesFilters(task(), { ...f, version: '1.0.0' })).toBe(false);
    expect(matchesFilters(task(), { ...f, correlation_id: 'tsk_2' })).toBe(false);
    expect(matchesFilters(task(), { ...f, tag: 'eu' })).toBe(true);
    expect(matchesFilters(task(), { ...f, tag: 'us' })).toBe(false);
  });

  it('applies created_after (inclusive) and created_before (exclusive), ISO or epoch ms', () => {
    const f = emptyFilters();
    const at = Date.parse('2026-11-30T12:00:00.000Z');
    expect(matchesFilters(task(), { ...f, created_after: '2026-11-30T12:00:00.000Z' })).toBe(true);
    expect(matchesFilters(task(), { ...f, created_after: String(at + 1) })).toBe(false);
    expect(matchesFilters(task(), { ...f, created_before: String(at) })).toBe(false);
    expect(matchesFilters(task(), { ...f, created_before: '2026-11-30T12:00:01Z' })).toBe(true);
  });
});

describe('classifySearch', () => {
  it('sends a UUID to the task and anything else to the correlation filter', () => {
    expect(classifySearch('  01A22E76-9BD4-7027-B516-89B64271612D ')).toEqual({
      kind: 'task',
      id: '01a22e76-9bd4-7027-b516-89b64271612d',
    });
    expect(classifySearch('tsk_mx3t6v2s_078zc7')).toEqual({
      kind: 'correlation',
      value: 'tsk_mx3t6v2s_078zc7',
    });
    expect(classifySearch('01a22e76-9bd4-7027-b516')).toEqual({
      kind: 'correlation',
      value: '01a22e76-9bd4-7027-b516',
    });
    expect(classifySearch('   ')).toEqual({ kind: 'empty' });
  });
});

describe('datetime-local inputs', () => {
  it('converts local input values to ISO and back', () => {
    const iso = fromLocalInput('2026-11-30T12:03');
    expect(iso).toBe(new Date(2026, 10, 30, 12, 3).toISOString());
    expect(toLocalInput(iso)).toBe('2026-11-30T12:03');
    expect(fromLocalInput('')).toBe('');
    expect(toLocalInput('not a date')).toBe('');
  });
});
