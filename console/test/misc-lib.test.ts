import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config';
import { impactRows } from '../src/lib/impact';
import { checkJson } from '../src/lib/json-input';
import { basePath, matchRoute, paths, relativePath } from '../src/lib/routes';
import { niceMax, sumSeries } from '../src/lib/throughput';
import { parseRange, rangeSearch } from '../src/lib/time-range';
import { traceLink } from '../src/lib/trace-link';

describe('checkJson (Resolve dialog)', () => {
  it('accepts any JSON value', () => {
    expect(checkJson('{"approved": true}')).toEqual({ ok: true, value: { approved: true } });
    expect(checkJson('42')).toEqual({ ok: true, value: 42 });
    expect(checkJson('null')).toEqual({ ok: true, value: null });
  });
  it('rejects empty and malformed text with a message', () => {
    expect(checkJson('  ').ok).toBe(false);
    const bad = checkJson('{\n  "a": 1,\n}');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatch(/line 3/);
  });
});

describe('traceLink', () => {
  const id = '4bf92f3577b34da6a3ce929d0e0e4736';
  it('fills an http(s) template', () => {
    expect(traceLink('http://jaeger:16686/trace/{trace_id}', id)).toBe(`http://jaeger:16686/trace/${id}`);
    expect(traceLink('https://x.example/t?id={trace_id}&q={trace_id}', id)).toBe(
      `https://x.example/t?id=${id}&q=${id}`,
    );
  });
  it('refuses other schemes, missing templates and ids that are not trace ids', () => {
    expect(traceLink('javascript:alert({trace_id})', id)).toBeNull();
    expect(traceLink(' data:text/html,{trace_id}', id)).toBeNull();
    expect(traceLink(null, id)).toBeNull();
    expect(traceLink('https://x/{trace_id}', null)).toBeNull();
    expect(traceLink('https://x/{trace_id}', '"><script>')).toBeNull();
  });
});

describe('routes', () => {
  it('finds the base path from the document base URL', () => {
    expect(basePath('http://127.0.0.1:3100/tasker/ui/')).toBe('/tasker/ui/');
    expect(basePath('http://127.0.0.1:5173/index.html')).toBe('/');
    expect(basePath(null)).toBe('/');
  });
  it('matches every client route under the base', () => {
    const base = '/tasker/ui/';
    const m = (p: string) => matchRoute(relativePath(p, base));
    expect(m('/tasker/ui/')).toEqual({ page: 'overview' });
    expect(m('/tasker/ui')).toEqual({ page: 'overview' });
    expect(m('/tasker/ui/tasks')).toEqual({ page: 'tasks' });
    expect(m('/tasker/ui/tasks/')).toEqual({ page: 'tasks' });
    expect(m('/tasker/ui/tasks/01a2%2Fx')).toEqual({ page: 'task', id: '01a2/x' });
    expect(m('/tasker/ui/impact')).toEqual({ page: 'impact' });
    expect(m('/tasker/ui/workers')).toEqual({ page: 'workers' });
    expect(m('/tasker/ui/nope/deeper')).toEqual({ page: 'not-found', path: 'nope/deeper' });
  });
  it('encodes ids in links', () => {
    expect(paths.task('a/b?c')).toBe('tasks/a%2Fb%3Fc');
  });
});

describe('config', () => {
  it('reads the injected meta and falls back to the defaults', () => {
    expect(parseConfig('{"api":"/ops/tasker/","trace_url":"http://j/{trace_id}","version":"0.1.0"}')).toEqual(
      {
        api: '/ops/tasker',
        trace_url: 'http://j/{trace_id}',
        version: '0.1.0',
      },
    );
    expect(parseConfig(null)).toEqual({ api: '/tasker', trace_url: null, version: null });
    expect(parseConfig('not json').api).toBe('/tasker');
  });
});

describe('time range in the URL', () => {
  it('reads known ranges only and omits the default', () => {
    expect(parseRange('?range=6h')).toBe('6h');
    expect(parseRange('?range=13h')).toBe('1h');
    expect(rangeSearch('?x=1', '7d')).toBe('?x=1&range=7d');
    expect(rangeSearch('?range=7d', '1h')).toBe('');
  });
});

describe('impactRows', () => {
  it('reads flat numbers and nested objects, largest first', () => {
    expect(impactRows({ europe: 150.25, asia: 10 }, 'revenue')).toEqual([
      { key: 'europe', value: 150.25, revenueLoss: 150.25, count: null },
      { key: 'asia', value: 10, revenueLoss: 10, count: null },
    ]);
    expect(impactRows({ eu: { failed_workflows: 3, revenue_loss: 20 } }, 'revenue')).toEqual([
      { key: 'eu', value: 20, revenueLoss: 20, count: 3 },
    ]);
    expect(impactRows({ 'pay:timeout': { count: 4 } }, 'count')[0]?.value).toBe(4);
  });
});

describe('throughput sums', () => {
  it('adds the selected series bucket by bucket', () => {
    const series = [
      { namespace: 'a', name: 'x', created: [1, 2], completed: [1, 1], failed: [0, 1] },
      { namespace: 'b', name: 'y', created: [3, 0], completed: [2, 0], failed: [1, 0] },
    ];
    expect(sumSeries(series, 2, null)).toEqual({ created: [4, 2], completed: [3, 1], failed: [1, 1] });
    expect(sumSeries(series, 2, 'b.y').created).toEqual([3, 0]);
  });
  it('rounds axis maxima up to 1, 2 or 5 times a power of ten', () => {
    expect([0, 0.3, 7, 12, 180, 501].map(niceMax)).toEqual([1, 0.5, 10, 20, 200, 1000]);
  });
});
