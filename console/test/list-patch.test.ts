import { describe, expect, it } from 'vitest';
import type { StreamTask, TaskPage } from '../src/api/types';
import { applyTaskEvents } from '../src/lib/list-patch';
import { emptyFilters } from '../src/lib/task-filters';

// UUIDv7-like ids: lexicographic order is creation order.
const id = (n: number) => `01a22e76-${String(n).padStart(4, '0')}-7000-8000-000000000000`;

const t = (n: number, over: Partial<StreamTask> = {}): StreamTask => ({
  id: id(n),
  name: 'process_order',
  namespace: 'ecommerce',
  version: '2.1.3',
  full_name: 'ecommerce.process_order@2.1.3',
  status: 'in_progress',
  correlation_id: null,
  idempotency_key: null,
  tags: [],
  created_at: '2026-11-30T12:00:00.000Z',
  started_at: null,
  updated_at: '2026-11-30T12:00:00.000Z',
  ...over,
});

const page = (ns: number[], next: string | null = 'cursor'): TaskPage => ({
  tasks: ns.map((n) => t(n)),
  next_cursor: next,
  limit: 50,
});

const opts = { filters: emptyFilters(), firstPage: true, maxRows: 100 };

describe('applyTaskEvents', () => {
  it('patches a row in place with the event state', () => {
    const before = page([3, 2, 1]);
    const r = applyTaskEvents(
      before,
      [t(2, { status: 'failed', updated_at: '2026-11-30T12:00:01.000Z', failed_at: 'x' })],
      {
        ...opts,
        firstPage: false,
      },
    );
    expect(r.updated).toBe(1);
    expect(r.page.tasks.map((x) => x.status)).toEqual(['in_progress', 'failed', 'in_progress']);
    expect(r.page.tasks[1]?.failed_at).toBe('x');
    expect(before.tasks[1]?.status).toBe('in_progress'); // the cached page is not mutated
  });

  it('never moves a row back to an older state', () => {
    const before: TaskPage = {
      ...page([1]),
      tasks: [t(1, { status: 'completed', updated_at: '2026-11-30T12:00:05.000Z' })],
    };
    const r = applyTaskEvents(
      before,
      [t(1, { status: 'in_progress', updated_at: '2026-11-30T12:00:01.000Z' })],
      opts,
    );
    expect(r.page).toBe(before);
    expect(r.page.tasks[0]?.status).toBe('completed');
  });

  it('inserts new matching tasks on the first page, newest first', () => {
    const r = applyTaskEvents(page([5, 3]), [t(4), t(7), t(6)], opts);
    expect(r.inserted).toBe(3);
    expect(r.page.tasks.map((x) => x.id)).toEqual([id(7), id(6), id(5), id(4), id(3)]);
  });

  it('does not insert on later pages, nor tasks that fail the filters', () => {
    expect(applyTaskEvents(page([5, 3]), [t(9)], { ...opts, firstPage: false }).inserted).toBe(0);
    const filtered = applyTaskEvents(
      page([5, 3]),
      [t(9, { status: 'completed' }), t(8, { status: 'failed' })],
      {
        ...opts,
        filters: { ...emptyFilters(), status: ['failed'] },
      },
    );
    expect(filtered.page.tasks.map((x) => x.id)).toEqual([id(8), id(5), id(3)]);
  });

  it('leaves a task older than the page end to later pages, unless this is the last page', () => {
    expect(applyTaskEvents(page([5, 3]), [t(1)], opts).inserted).toBe(0);
    expect(applyTaskEvents(page([5, 3], null), [t(1)], opts).page.tasks.map((x) => x.id)).toEqual([
      id(5),
      id(3),
      id(1),
    ]);
  });

  it('stops growing at maxRows and counts what it left out', () => {
    const r = applyTaskEvents(page([5, 3]), [t(8), t(7), t(6)], { ...opts, maxRows: 3 });
    expect(r.page.tasks.map((x) => x.id)).toEqual([id(8), id(5), id(3)]);
    expect(r.overflow).toBe(2);
  });

  it('keeps the newest of several events for one task in a batch', () => {
    const r = applyTaskEvents(
      page([1]),
      [
        t(1, { status: 'completed', updated_at: '2026-11-30T12:00:03.000Z' }),
        t(1, { status: 'in_progress', updated_at: '2026-11-30T12:00:02.000Z' }),
      ],
      opts,
    );
    expect(r.page.tasks[0]?.status).toBe('completed');
  });

  it('returns the same page object when nothing changed', () => {
    const before = page([3, 2]);
    expect(applyTaskEvents(before, [], opts).page).toBe(before);
  });
});
