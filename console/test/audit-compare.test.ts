import { describe, expect, it } from 'vitest';
import type { CompareStep, StepRun } from '../src/api/types';
import {
  auditApiFilters,
  auditDetailText,
  auditSearch,
  auditTasks,
  emptyAuditFilters,
  hasAuditFilters,
  parseAuditSearch,
  toAuditQuery,
} from '../src/lib/audit';
import { baselineChoiceText, compareCells, hashEquality } from '../src/lib/compare';

describe('audit filters in the URL', () => {
  it('reads and trims the four filters, ignoring anything else', () => {
    expect(parseAuditSearch('?outcome=refused&actor=%20ops%20&cursor=x&task_id=t1')).toEqual({
      actor: 'ops',
      action: '',
      outcome: 'refused',
      task_id: 't1',
    });
  });
  it('writes them in a fixed order without empties, and round-trips', () => {
    const filters = { ...emptyAuditFilters(), task_id: 't1', action: 'bulk.retry', actor: 'a&b' };
    const search = auditSearch(filters);
    expect(search).toBe('?actor=a%26b&action=bulk.retry&task_id=t1');
    expect(parseAuditSearch(search)).toEqual(filters);
    expect(auditSearch(emptyAuditFilters())).toBe('');
    expect(hasAuditFilters(emptyAuditFilters())).toBe(false);
    expect(hasAuditFilters({ ...emptyAuditFilters(), outcome: 'ok' })).toBe(true);
  });
  it('makes the API query, with the keyset cursor when there is one', () => {
    const filters = { ...emptyAuditFilters(), outcome: 'refused' };
    expect(auditApiFilters(filters)).toEqual({ outcome: 'refused' });
    expect(toAuditQuery(filters, 50)).toEqual({ outcome: 'refused', limit: 50 });
    expect(toAuditQuery(filters, 50, 'c9')).toEqual({ outcome: 'refused', limit: 50, cursor: 'c9' });
  });
});

describe('audit entry text', () => {
  it("shows a refused entry's error code and message", () => {
    expect(auditDetailText({ error: 'FORBIDDEN', message: 'needs tasks:write' })).toBe(
      'FORBIDDEN: needs tasks:write',
    );
    expect(auditDetailText({ message: 'only a message' })).toBe('only a message');
  });
  it('shows other details as key/value text, never markup', () => {
    expect(auditDetailText({ done: 3, skipped_count: 1, by: { a: 1 } })).toBe(
      'done 3 · skipped count 1 · by {"a":1}',
    );
    expect(auditDetailText({ error: '<img src=x onerror=alert(1)>' })).toBe('<img src=x onerror=alert(1)>');
    expect(auditDetailText(null)).toBeNull();
    expect(auditDetailText({})).toBeNull();
    expect(auditDetailText({ message: 'x'.repeat(1000) })?.length).toBe(401);
  });
  it('links the first task ids and counts the rest', () => {
    expect(auditTasks({ task_ids: ['a', 'b', 'c', 'd'], task_count: 250 })).toEqual({
      ids: ['a', 'b', 'c'],
      more: 247,
    });
    expect(auditTasks({ task_ids: ['a'], task_count: 1 })).toEqual({ ids: ['a'], more: 0 });
  });
});

const run = (over: Partial<StepRun> = {}): StepRun => ({
  status: 'completed',
  attempts: 1,
  queue_wait_seconds: 0.2,
  execution_seconds: 0.4,
  backoff_seconds: 0,
  workers: ['w1'],
  hosts: ['host-a'],
  error_type: null,
  error: null,
  input_hash: 'aaaaaaaaaaaa',
  results_hash: 'bbbbbbbbbbbb',
  ...over,
});

describe('compare with the last good run', () => {
  it('compares inputs and results by hash only', () => {
    expect(hashEquality('a', 'a', true)).toBe('same');
    expect(hashEquality('a', 'b', true)).toBe('different');
    expect(hashEquality(null, null, true)).toBe('none');
    expect(hashEquality('a', null, false)).toBe('no_baseline');
  });
  it('lays out a step as run / baseline cells, marking the changed fields', () => {
    const step: CompareStep = {
      name: 'update_inventory',
      changed: ['status', 'execution', 'error', 'results', 'host'],
      run: run({
        status: 'failed',
        attempts: 3,
        execution_seconds: 30,
        hosts: ['host-b', 'host-c'],
        error_type: 'TimeoutError',
        error: 'timed out after 30s',
        results_hash: null,
      }),
      baseline: run(),
    };
    const cells = Object.fromEntries(compareCells(step).map((c) => [c.field, c]));
    expect(cells.status).toMatchObject({ run: 'failed', baseline: 'completed', changed: true });
    expect(cells.attempts).toMatchObject({ run: '3', baseline: '1', changed: false });
    expect(cells.execution).toMatchObject({ run: '30 s', baseline: '400 ms', changed: true });
    expect(cells.queue_wait).toMatchObject({ run: '200 ms', baseline: '200 ms' });
    expect(cells.host).toMatchObject({ run: 'host-b, host-c', baseline: 'host-a', changed: true });
    expect(cells.error).toMatchObject({ run: 'TimeoutError: timed out after 30s', baseline: '—' });
    expect(cells.input).toMatchObject({ hash: 'same', run: 'aaaaaaaaaaaa' });
    expect(cells.results).toMatchObject({ hash: 'different', run: '—', baseline: 'bbbbbbbbbbbb' });
  });
  it('shows the run alone when there is no baseline', () => {
    const cells = compareCells({ name: 's', changed: [], run: run(), baseline: null });
    expect(cells.every((c) => c.baseline === '—')).toBe(true);
    expect(cells.find((c) => c.field === 'input')?.hash).toBe('no_baseline');
    expect(baselineChoiceText('none')).toBe('no successful run to compare with');
    expect(baselineChoiceText('newer_choice')).toBe('newer choice');
  });
});
