import { afterEach, describe, expect, it, vi } from 'vitest';
import { api } from '../src/api/client';
import type { BulkDryRun, FailureGroup } from '../src/api/types';
import {
  bulkProgress,
  checkReason,
  dryRunSummary,
  dryTaskSteps,
  raisedLimit,
  skippedByReason,
  stepTable,
} from '../src/lib/bulk';
import { matchRoute, paths } from '../src/lib/routes';
import { sparklineGeometry } from '../src/lib/sparkline';
import { parseRange, rangeSearch, rangeSeconds } from '../src/lib/time-range';
import {
  breakdownText,
  bucketSecondsOf,
  groupSearch,
  ongoingCount,
  parseTriageSearch,
  statusBreakdown,
  triageSearch,
} from '../src/lib/triage';

describe('sparklineGeometry', () => {
  it('spans the width and puts the peak on the top edge', () => {
    const g = sparklineGeometry([0, 2, 4], 101, 22, 1);
    expect(g.line).toBe('M1,21L50.5,11L100,1');
    expect(g.area).toBe('M1,21L50.5,11L100,1L100,21L1,21Z');
    expect(g.max).toBe(4);
    expect(g.total).toBe(6);
  });
  it('draws nothing for an empty series', () => {
    expect(sparklineGeometry([], 120, 24)).toEqual({ line: '', area: '', max: 1, total: 0 });
  });
  it('lays a series of zeros flat on the baseline (no division by zero)', () => {
    const g = sparklineGeometry([0, 0, 0], 10, 10, 0);
    expect(g.line).toBe('M0,10L5,10L10,10');
    expect(g.max).toBe(1);
  });
  it('draws one bucket as a flat line across the width', () => {
    expect(sparklineGeometry([3], 20, 10, 1).line).toBe('M1,1L19,1');
  });
  it('reads negative and non-finite values as zero', () => {
    const g = sparklineGeometry([Number.NaN, -5, 2, Infinity], 4, 4, 0);
    expect(g.total).toBe(2);
    expect(g.line).not.toMatch(/NaN|Infinity/);
    expect(g.line.endsWith('L4,4')).toBe(true);
  });
});

describe('triage URL state', () => {
  it('reads time_range, namespace and name (unknown ranges fall back to 1h)', () => {
    expect(parseTriageSearch('?time_range=6h&namespace=ecommerce&name=%20order%20')).toEqual({
      range: '6h',
      namespace: 'ecommerce',
      name: 'order',
    });
    expect(parseTriageSearch('?time_range=5y')).toEqual({ range: '1h', namespace: '', name: '' });
    // The other analytics pages' `range` is not the triage page's word.
    expect(parseTriageSearch('?range=7d').range).toBe('1h');
  });
  it('writes a canonical query string: fixed order, no empties, default range left out', () => {
    expect(triageSearch({ range: '1h', namespace: '', name: '' })).toBe('');
    expect(triageSearch({ name: 'order', namespace: 'ecommerce', range: '24h' })).toBe(
      '?time_range=24h&namespace=ecommerce&name=order',
    );
    const state = parseTriageSearch('?name=a%26b&time_range=15m');
    expect(parseTriageSearch(triageSearch(state))).toEqual(state);
    expect(groupSearch('7d')).toBe('?time_range=7d');
    expect(groupSearch('1h')).toBe('');
  });
  it('lets the shared picker write either parameter', () => {
    expect(parseRange('?time_range=6h', 'time_range')).toBe('6h');
    expect(rangeSearch('?namespace=x', '7d', 'time_range')).toBe('?namespace=x&time_range=7d');
    expect(rangeSearch('?time_range=7d&namespace=x', '1h', 'time_range')).toBe('?namespace=x');
    expect(rangeSeconds('15m')).toBe(900);
    expect(rangeSeconds('7d')).toBe(604800);
    expect(bucketSecondsOf('1h', 60)).toBe(60);
    expect(bucketSecondsOf('1h', 0)).toBeNull();
  });
});

describe('failure group counts', () => {
  const counts = { failed: 8, retrying: 2, recovered: 1, cancelled: 0, stuck: 0 };
  it('lists non-zero statuses, worst first', () => {
    expect(statusBreakdown(counts)).toEqual([
      { key: 'failed', count: 8 },
      { key: 'retrying', count: 2 },
      { key: 'recovered', count: 1 },
    ]);
    expect(breakdownText({ ...counts, failed: 1200 })).toBe('1,200 failed · 2 retrying · 1 recovered');
    expect(statusBreakdown(null)).toEqual([]);
  });
  it('counts ongoing groups', () => {
    const g = (ongoing: boolean) => ({ ongoing }) as FailureGroup;
    expect(ongoingCount([g(true), g(false), g(true)])).toBe(2);
  });
});

const dryRun = (over: Partial<BulkDryRun> = {}): BulkDryRun => ({
  dry_run: true,
  action: 'retry',
  matched: 15,
  would_change: 12,
  max_tasks: 1000,
  exceeds_max_tasks: false,
  skipped_count: 3,
  skipped: [
    { task_id: 'a', status: 'completed', reason: 'not_failed', message: 'completed' },
    { task_id: 'b', status: 'cancelled', reason: 'already_finished', message: 'cancelled' },
    { task_id: 'c', status: 'completed', reason: 'not_failed', message: 'completed' },
  ],
  hidden: 0,
  steps: { rerun: { charge: 12, ship: 12 }, kept: { validate: 12, reserve: 12 } },
  tasks: [],
  tasks_truncated: false,
  ...over,
});

describe('dry-run summary', () => {
  it('says what would change and labels the confirmation with the count', () => {
    const s = dryRunSummary(dryRun());
    expect(s.headline).toBe('12 tasks of 15 matching would be retried.');
    expect(s.confirmLabel).toBe('Confirm: retry 12 tasks');
    expect(s.canConfirm).toBe(true);
    expect(s.blocker).toBeNull();
    expect(s.notes).toEqual(['3 tasks skipped (see the reasons below).']);
  });
  it('uses the singular, and names hidden tasks without ids', () => {
    const s = dryRunSummary(
      dryRun({ action: 'cancel', matched: 1, would_change: 1, skipped_count: 0, skipped: [], hidden: 4 }),
    );
    expect(s.confirmLabel).toBe('Confirm: cancel 1 task');
    expect(s.headline).toBe('1 task of 1 matching would be cancelled.');
    expect(s.notes).toEqual(['4 tasks in namespaces this token may not act in: left alone (ids not shown).']);
  });
  it('blocks the real run when nothing would change or the limit is exceeded', () => {
    expect(dryRunSummary(dryRun({ would_change: 0 })).canConfirm).toBe(false);
    const over = dryRun({ would_change: 1500, exceeds_max_tasks: true });
    expect(dryRunSummary(over)).toMatchObject({
      canConfirm: false,
      blocker: "1,500 tasks is more than this job's limit of 1,000.",
    });
    expect(raisedLimit(over)).toBe(1500);
    expect(raisedLimit(dryRun({ would_change: 20_000, exceeds_max_tasks: true }))).toBeNull();
    expect(raisedLimit(dryRun())).toBeNull();
  });
  it('requires a reason of 1 to 2000 characters', () => {
    expect(checkReason('  ')).toMatch(/required/);
    expect(checkReason('payment provider back up')).toBeNull();
    expect(checkReason('x'.repeat(2001))).toMatch(/2,000/);
  });
});

describe('dry-run steps and skipped reasons', () => {
  it('makes one row per step with the action’s two columns, most re-run first', () => {
    expect(stepTable('retry', { rerun: { ship: 3, charge: 12 }, kept: { validate: 12, charge: 1 } })).toEqual(
      {
        columns: [
          { key: 'rerun', label: 'Run again' },
          { key: 'kept', label: 'Kept' },
        ],
        rows: [
          { step: 'charge', counts: [12, 1] },
          { step: 'ship', counts: [3, 0] },
          { step: 'validate', counts: [0, 12] },
        ],
      },
    );
    expect(stepTable('cancel', { aborted: { ship: 2 }, never_run: { notify: 2 } }).columns[1]).toEqual({
      key: 'never_run',
      label: 'Never run',
    });
  });
  it('shows whatever maps a newer server sends', () => {
    const t = stepTable('retry', { requeued: { a: 1 } });
    expect(t.columns).toEqual([{ key: 'requeued', label: 'requeued' }]);
    expect(t.rows).toEqual([{ step: 'a', counts: [1] }]);
    expect(stepTable('retry', undefined).rows).toEqual([]);
  });
  it("reads a listed task's steps under the action's key, or the contract's rerun", () => {
    const base = { task_id: 't', namespace: 'n', name: 'x', version: '1', status: 'failed' };
    expect(dryTaskSteps({ ...base, rerun: ['charge'], kept: ['validate'] }, 'rerun')).toEqual(['charge']);
    expect(dryTaskSteps({ ...base, aborted: ['ship'], never_run: ['notify'] }, 'aborted')).toEqual(['ship']);
    expect(dryTaskSteps({ ...base, rerun: ['a'] }, 'aborted')).toEqual(['a']);
    expect(dryTaskSteps({ ...base, aborted: 'not a list' }, 'aborted')).toEqual([]);
  });
  it('counts skipped tasks by reason', () => {
    expect(skippedByReason(dryRun().skipped)).toEqual([
      { reason: 'not_failed', label: 'not failed', count: 2 },
      { reason: 'already_finished', label: 'already finished', count: 1 },
    ]);
  });
});

describe('bulk job progress', () => {
  it('counts done, skipped and failed against the total', () => {
    const p = bulkProgress({ status: 'running', total: 12, done: 5, skipped: 1, failed: 1 });
    expect(p.processed).toBe(7);
    expect(p.percent).toBe('58%');
    expect(p.label).toBe('7 of 12 tasks processed (58%)');
    expect(p.segments.done).toBeCloseTo(5 / 12);
    expect(p.segments.failed).toBeCloseTo(1 / 12);
  });
  it('never shows 100% while a task is left, and handles empty jobs', () => {
    expect(bulkProgress({ status: 'running', total: 1000, done: 999, skipped: 0, failed: 0 }).percent).toBe(
      '99%',
    );
    expect(bulkProgress({ status: 'running', total: 0, done: 0, skipped: 0, failed: 0 }).ratio).toBe(0);
    expect(bulkProgress({ status: 'completed', total: 0, done: 0, skipped: 0, failed: 0 }).percent).toBe(
      '100%',
    );
    // Counts past the total (a total read before the last tasks were counted) stay within the bar.
    expect(bulkProgress({ status: 'running', total: 2, done: 3, skipped: 0, failed: 0 }).ratio).toBe(1);
  });
});

describe('triage routes', () => {
  it('matches the new client routes and encodes their ids', () => {
    expect(matchRoute('triage')).toEqual({ page: 'triage' });
    expect(matchRoute('triage/0123456789abcdef')).toEqual({
      page: 'failure-group',
      fingerprint: '0123456789abcdef',
    });
    expect(matchRoute('bulk/job%2F1')).toEqual({ page: 'bulk-job', id: 'job/1' });
    expect(matchRoute('audit')).toEqual({ page: 'audit' });
    expect(matchRoute('bulk')).toEqual({ page: 'not-found', path: 'bulk' });
    expect(matchRoute('triage/%E0%A4%A')).toEqual({ page: 'not-found', path: 'triage/%E0%A4%A' });
    expect(paths.failureGroup('a/b', '?time_range=6h')).toBe('triage/a%2Fb?time_range=6h');
    expect(paths.bulkJob('x?y')).toBe('bulk/x%3Fy');
    expect(paths.audit('?task_id=t')).toBe('audit?task_id=t');
  });
});

describe('triage API calls', () => {
  const calls: { url: string; init: RequestInit }[] = [];
  const sent = (i: number) => JSON.parse(calls[i]?.init.body as string);
  afterEach(() => {
    vi.unstubAllGlobals();
    calls.length = 0;
  });
  const stub = (body: unknown, status = 200) =>
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(JSON.stringify(body), { status });
    });
  const body = { action: 'retry' as const, filter: { failure_group: 'f00d', time_range: '6h' }, reason: 'r' };

  it('sends the preview as dry_run: true and the real run as dry_run: false', async () => {
    stub({});
    await api.bulkDryRun(body);
    await api.startBulk(body);
    expect(calls.map((c) => [c.url, c.init.method, JSON.parse(c.init.body as string).dry_run])).toEqual([
      ['/tasker/bulk-actions', 'POST', true],
      ['/tasker/bulk-actions', 'POST', false],
    ]);
    expect(sent(0)).toEqual({ ...body, dry_run: true });
  });
  it('builds the read URLs', async () => {
    stub({});
    await api.failureGroups('6h', { namespace: 'ecommerce', name: '' });
    await api.failureGroup('ab/cd', '1h');
    await api.audit({ task_id: 't1', outcome: 'refused', limit: 50, cursor: 'c2' });
    await api.compare('t/1', 'last_success');
    await api.stopBulkJob('j1', 'wrong group');
    expect(calls.map((c) => c.url)).toEqual([
      '/tasker/analytics/failure-groups?time_range=6h&namespace=ecommerce',
      '/tasker/analytics/failure-groups/ab%2Fcd?time_range=1h',
      '/tasker/audit?task_id=t1&outcome=refused&limit=50&cursor=c2',
      '/tasker/tasks/t%2F1/compare?with=last_success',
      '/tasker/bulk-actions/j1/stop',
    ]);
    expect(sent(4)).toEqual({ reason: 'wrong group' });
  });
  it('surfaces the API error message', async () => {
    stub({ error: 'TOO_MANY_TASKS', message: '1500 tasks match; max_tasks is 1000' }, 400);
    await expect(api.startBulk(body)).rejects.toMatchObject({
      status: 400,
      code: 'TOO_MANY_TASKS',
      message: '1500 tasks match; max_tasks is 1000',
    });
  });
});
