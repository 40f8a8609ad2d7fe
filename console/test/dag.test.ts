import { describe, expect, it } from 'vitest';
import { dagEdges, dagreLayout, edgeId, layoutDag, markCriticalPath, structureKey } from '../src/lib/dag';
import { layeredLayout } from '../src/lib/layered-layout';

const steps = [
  { name: 'validate_cart', depends_on: [] },
  { name: 'process_payment', depends_on: ['validate_cart'] },
  { name: 'update_inventory', depends_on: ['validate_cart'] },
  { name: 'create_order', depends_on: ['process_payment', 'update_inventory'] },
];

describe('dag', () => {
  it('makes one edge per dependency on a known step', () => {
    const edges = dagEdges([...steps, { name: 'ghost_child', depends_on: ['nope', 'create_order'] }]);
    expect(edges.map((e) => `${e.source}>${e.target}`)).toEqual([
      'validate_cart>process_payment',
      'validate_cart>update_inventory',
      'process_payment>create_order',
      'update_inventory>create_order',
      'create_order>ghost_child',
    ]);
  });

  it('marks the critical path nodes and only the edges between consecutive path steps', () => {
    const marks = markCriticalPath(
      steps,
      ['validate_cart', 'process_payment', 'create_order'],
      'process_payment',
    );
    expect([...marks.criticalNodes]).toEqual(['validate_cart', 'process_payment', 'create_order']);
    expect([...marks.criticalEdges].sort()).toEqual(
      [edgeId('validate_cart', 'process_payment'), edgeId('process_payment', 'create_order')].sort(),
    );
    expect(marks.criticalEdges.has(edgeId('update_inventory', 'create_order'))).toBe(false);
    expect(marks.bottleneck).toBe('process_payment');
  });

  it('ignores a path gap and an unknown bottleneck', () => {
    const marks = markCriticalPath(steps, ['validate_cart', 'create_order'], 'missing');
    expect(marks.criticalEdges.size).toBe(0);
    expect(marks.bottleneck).toBeNull();
  });

  it('keys the layout on structure only', () => {
    expect(structureKey(steps)).toBe(structureKey(steps.map((s) => ({ ...s, status: 'failed' }))));
    expect(structureKey(steps)).not.toBe(structureKey(steps.slice(1)));
  });

  it('lays out top-to-bottom with every dependency above its dependant', () => {
    const { positions } = layoutDag(steps, { direction: 'TB', nodeWidth: 200, nodeHeight: 60 });
    const y = (n: string) => positions.get(n)?.y ?? NaN;
    expect(y('validate_cart')).toBeLessThan(y('process_payment'));
    expect(y('process_payment')).toBeLessThan(y('create_order'));
    expect(y('process_payment')).toBe(y('update_inventory'));
    expect(positions.get('process_payment')?.x).not.toBe(positions.get('update_inventory')?.x);
  });

  it('lays out left-to-right in the other direction', () => {
    const { positions } = layoutDag(steps, { direction: 'LR', nodeWidth: 200, nodeHeight: 60 });
    expect(positions.get('validate_cart')?.x ?? 0).toBeLessThan(positions.get('create_order')?.x ?? 0);
  });

  it('lays out top-to-bottom with dagre up to the threshold', () => {
    const { positions } = dagreLayout(steps, { direction: 'TB', nodeWidth: 200, nodeHeight: 60 });
    expect(positions.get('validate_cart')?.y ?? 0).toBeLessThan(positions.get('create_order')?.y ?? 0);
  });
});

describe('layered layout (large DAGs)', () => {
  const big = Array.from({ length: 200 }, (_, i) => ({
    name: `step_${i}`,
    depends_on: i === 0 ? [] : [`step_${Math.floor((i - 1) / 3)}`, ...(i > 10 ? [`step_${i - 7}`] : [])],
  }));
  const opts = { direction: 'TB' as const, nodeWidth: 220, nodeHeight: 72 };

  it('places every dependency on an earlier layer, without overlapping nodes in a layer', () => {
    const { positions, width, height } = layeredLayout(big, opts);
    expect(positions.size).toBe(200);
    for (const s of big) {
      for (const d of s.depends_on)
        expect(positions.get(d)?.y ?? Infinity).toBeLessThan(positions.get(s.name)?.y ?? 0);
    }
    const byRow = new Map<number, number[]>();
    for (const p of positions.values()) byRow.set(p.y, [...(byRow.get(p.y) ?? []), p.x]);
    for (const xs of byRow.values()) {
      xs.sort((a, b) => a - b);
      for (let i = 1; i < xs.length; i++) expect((xs[i] ?? 0) - (xs[i - 1] ?? 0)).toBeGreaterThanOrEqual(220);
    }
    for (const p of positions.values()) {
      expect(p.x).toBeGreaterThanOrEqual(0);
      expect(p.x + 220).toBeLessThanOrEqual(width);
      expect(p.y + 72).toBeLessThanOrEqual(height);
    }
  });

  it('centres a single child under its parent', () => {
    const { positions } = layeredLayout(
      [
        { name: 'a', depends_on: [] },
        { name: 'b', depends_on: ['a'] },
      ],
      opts,
    );
    expect(positions.get('a')?.x).toBe(positions.get('b')?.x);
  });

  it('runs in a few milliseconds for 200 steps, left-to-right too', () => {
    const t = performance.now();
    const { positions } = layeredLayout(big, { ...opts, direction: 'LR' });
    expect(performance.now() - t).toBeLessThan(100);
    for (const s of big) {
      for (const d of s.depends_on)
        expect(positions.get(d)?.x ?? Infinity).toBeLessThan(positions.get(s.name)?.x ?? 0);
    }
  });

  it('is what layoutDag uses above the dagre threshold', () => {
    const t = performance.now();
    layoutDag(big, opts);
    expect(performance.now() - t).toBeLessThan(150);
  });
});
