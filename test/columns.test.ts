/**
 * The column lists both adapters bind from (store/columns.ts): the generated readers must give each
 * column's value in the list's order, JSON as text, nested records through `on`, and computed columns
 * through their own functions; a path that is not an identifier never reaches generated code.
 */
import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../src/core/records.js';
import {
  col,
  fields,
  names,
  on,
  rowRunner,
  rowValues,
  rowWriter,
  STEP_UPDATE,
  TASK_INSERT,
} from '../src/store/columns.js';
import type { StepWrite } from '../src/core/task-workspace.js';

const TASK: TaskRecord = {
  id: '0190a8c2-0000-7000-8000-000000000001',
  namespace: 'shop',
  name: 'checkout',
  version: '1.0.0',
  status: 'pending',
  context: { order_id: 7, note: 'a "quoted" word' },
  correlationId: 'corr-1',
  idempotencyKey: null,
  tags: ['web'],
  business: null,
  traceparent: null,
  createdAt: 1000,
  updatedAt: 1001,
  startedAt: null,
  finishedAt: null,
};

describe('column readers', () => {
  it('read a task insert in column order: JSON as text, null JSON as NULL, computed columns called', () => {
    const values = rowValues(TASK_INSERT, {
      task: TASK,
      keys: { value: 129.5, customer: 'c-9', region: 'EU', tier: null },
    });
    const byName = Object.fromEntries(
      names(TASK_INSERT)
        .split(', ')
        .map((n, i) => [n, values[i]]),
    );
    expect(values).toHaveLength(TASK_INSERT.length);
    expect(byName).toMatchObject({
      id: TASK.id,
      namespace: 'shop',
      status: 'pending',
      correlation_id: 'corr-1',
      idempotency_key: null,
      created_at: 1000,
      started_at: null,
      business_value: 129.5,
      business_customer: 'c-9',
      business_region: 'EU',
      business_tier: null,
    });
    expect(JSON.parse(byName.context as string)).toEqual(TASK.context);
    expect(byName.tags).toBe('["web"]');
    expect(byName.business).toBeNull();
  });

  it('read the same values however they are generated: per-column functions, a writer and a runner', () => {
    const row = { task: TASK, keys: { value: null, customer: null, region: null, tier: null } };
    const perColumn = TASK_INSERT.map((c) => c.value(row));
    const written: unknown[] = ['before'];
    rowWriter(TASK_INSERT)(row, written);
    const ran = rowRunner<typeof row, unknown[]>(TASK_INSERT)({ run: (...v: unknown[]) => v }, row);
    expect(written).toEqual(['before', ...perColumn]);
    expect(ran).toEqual(perColumn);
  });

  it('read a step write through `on` (set from the record) and its computed fence', () => {
    const write = {
      record: { id: 42, status: 'complete', attempts: 2, results: { ok: true }, errorMessage: null },
      expectStatus: 'in_progress',
      expectAttempts: 2,
    } as unknown as StepWrite;
    const cols = [...STEP_UPDATE.set, ...STEP_UPDATE.match];
    const byName = new Map(
      cols.map((c, i) => [`${i < STEP_UPDATE.set.length ? 'set' : 'where'}.${c.name}`, c.value(write)]),
    );
    expect(byName.get('set.status')).toBe('complete');
    expect(byName.get('set.results')).toBe('{"ok":true}');
    expect(byName.get('where.id')).toBe(42);
    expect(byName.get('where.status')).toBe('in_progress');
    expect(byName.get('where.attempts')).toBe(2);
  });

  it('refuse a property path that is not an identifier before generating any code', () => {
    const cols = fields<{ a: number }>()('a');
    expect(() => on<Record<string, { a: number }>, string>(cols, 'x; process.exit(1)')).toThrow(
      /not an identifier/,
    );
    const computed = [col('n', 'int', (r: { n: number }) => r.n * 2)];
    expect(rowValues(computed, { n: 21 })).toEqual([42]);
  });
});
