import { describe, expect, it } from 'vitest';
import { step } from './factories';
import { describeWait } from '../src/lib/wait';

const now = Date.parse('2026-11-30T12:03:00.000Z');
const local = (iso: string) => {
  const d = new Date(iso);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
};

describe('describeWait', () => {
  it('reads retry_backoff evidence as until / attempt n of m / last error', () => {
    const s = step({
      name: 'pay',
      status: 'waiting_for_retry',
      wait: {
        reason: 'retry_backoff',
        message: 'pay retries at 12:03:04',
        until: '2026-11-30T12:03:04.000Z',
        attempt: 2,
        max_attempts: 3,
        last_error_type: 'timeout',
        last_error_message: 'gateway took 10 s',
      },
    });
    const view = describeWait(s, new Map([[s.name, s]]), now);
    expect(view?.reason).toBe('retry_backoff');
    expect(view?.heading).toBe('Waiting to retry');
    expect(view?.message).toBe('pay retries at 12:03:04');
    expect(view?.evidence).toEqual([
      {
        label: 'until',
        value: `${local('2026-11-30T12:03:04.000Z')} (in 4 s)`,
        title: '2026-11-30T12:03:04.000Z',
      },
      { label: 'attempt', value: '2 of 3' },
      { label: 'last error', value: 'timeout: gateway took 10 s' },
    ]);
  });

  it('follows a dependency chain down to the step that holds it up', () => {
    const a = step({
      name: 'a',
      status: 'waiting_for_retry',
      wait: { reason: 'retry_backoff', message: 'a retries soon' },
    });
    const b = step({
      name: 'b',
      depends_on: ['a'],
      wait: {
        reason: 'waiting_for_dependency',
        message: 'b waits for a',
        dependencies: [{ step: 'a', status: 'waiting_for_retry', reason: 'retry_backoff' }],
      },
    });
    const c = step({
      name: 'c',
      depends_on: ['b'],
      wait: {
        reason: 'waiting_for_dependency',
        message: 'c waits for b',
        dependencies: [{ step: 'b', status: 'pending', reason: 'waiting_for_dependency' }],
      },
    });
    const steps = new Map([a, b, c].map((s) => [s.name, s]));
    const view = describeWait(c, steps, now);
    expect(view?.chain).toEqual([
      { step: 'b', status: 'pending', reason: 'waiting_for_dependency', message: 'b waits for a', depth: 1 },
      {
        step: 'a',
        status: 'waiting_for_retry',
        reason: 'retry_backoff',
        message: 'a retries soon',
        depth: 2,
      },
    ]);
    expect(view?.evidence).toEqual([{ label: 'waiting for', value: 'b (pending: waiting_for_dependency)' }]);
  });

  it('does not loop on a cyclic chain', () => {
    const a = step({
      name: 'a',
      wait: {
        reason: 'waiting_for_dependency',
        message: '',
        dependencies: [{ step: 'b', status: 'pending', reason: 'waiting_for_dependency' }],
      },
    });
    const b = step({
      name: 'b',
      wait: {
        reason: 'waiting_for_dependency',
        message: '',
        dependencies: [{ step: 'a', status: 'pending', reason: 'waiting_for_dependency' }],
      },
    });
    const view = describeWait(a, new Map([a, b].map((s) => [s.name, s])), now);
    expect(view?.chain.map((l) => l.step)).toEqual(['b', 'a']);
  });

  it('lists slot evidence and keeps fields it does not know', () => {
    const s = step({
      wait: {
        reason: 'no_free_slot',
        message: 'all 8 slots busy',
        backlog: 40,
        ahead: 12,
        slots_in_use: 8,
        slots_total: 8,
        live_workers: 2,
        region_hint: 'eu',
      },
    });
    const labels = describeWait(s, new Map(), now)?.evidence.map((e) => `${e.label}=${e.value}`);
    expect(labels).toEqual([
      'ready backlog=40',
      'ahead of it=12',
      'slots in use=8 of 8',
      'live workers=2',
      'region hint=eu',
    ]);
  });

  it('returns null for a step without wait', () => {
    expect(describeWait(step({ status: 'completed' }), new Map(), now)).toBeNull();
  });
});
