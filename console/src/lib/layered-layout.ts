/**
 * A small layered (Sugiyama-style) layout for large DAGs. dagre lays out the usual template nicely, but
 * on a 200-step graph with long edges it spends 400-800 ms ordering and positioning; this does the same
 * three phases in a few milliseconds: longest-path ranks, barycenter ordering sweeps (long edges get
 * dummy nodes so they take part), and per-layer positions pulled towards neighbours with order and
 * spacing kept (isotonic regression).
 */
import type { DagLayout, DagStep, LayoutOptions, Point } from './dag';

interface LNode {
  id: number;
  /** Size across the layer (width for top-to-bottom). */
  size: number;
  up: number[];
  down: number[];
  pos: number;
  order: number;
}

const SWEEPS = 8;
const POSITION_PASSES = 6;
const DUMMY_SIZE = 12;

/** Non-decreasing y closest (least squares) to `targets`: pool adjacent violators. */
function isotonic(targets: number[]): number[] {
  const value: number[] = [];
  const weight: number[] = [];
  for (const t of targets) {
    value.push(t);
    weight.push(1);
    while (value.length > 1 && (value[value.length - 2] ?? 0) > (value[value.length - 1] ?? 0)) {
      const w2 = weight.pop() ?? 1;
      const v2 = value.pop() ?? 0;
      const w1 = weight.pop() ?? 1;
      const v1 = value.pop() ?? 0;
      value.push((v1 * w1 + v2 * w2) / (w1 + w2));
      weight.push(w1 + w2);
    }
  }
  const out: number[] = [];
  value.forEach((v, i) => {
    for (let k = 0; k < (weight[i] ?? 0); k++) out.push(v);
  });
  return out;
}

export function layeredLayout(steps: DagStep[], options: LayoutOptions): DagLayout {
  const vertical = options.direction === 'TB';
  const crossSize = vertical ? options.nodeWidth : options.nodeHeight;
  const rankSize = vertical ? options.nodeHeight : options.nodeWidth;
  const nodeSep = vertical ? 24 : 16;
  const rankSep = vertical ? 48 : 64;

  const index = new Map(steps.map((s, i) => [s.name, i]));
  const preds = steps.map((s) =>
    [...new Set(s.depends_on)].map((d) => index.get(d)).filter((i) => i !== undefined),
  );

  // Ranks by longest path, in topological order; anything left in a cycle goes after what it needs.
  const rank = new Array<number>(steps.length).fill(-1);
  const indegree = preds.map((p) => p.length);
  const succs: number[][] = steps.map(() => []);
  preds.forEach((p, i) => p.forEach((d) => succs[d]?.push(i)));
  const queue = indegree.flatMap((d, i) => (d === 0 ? [i] : []));
  for (let q = 0; q < queue.length; q++) {
    const i = queue[q] ?? 0;
    rank[i] = Math.max(0, ...(preds[i] ?? []).map((d) => (rank[d] ?? -1) + 1));
    for (const s of succs[i] ?? []) {
      indegree[s] = (indegree[s] ?? 1) - 1;
      if (indegree[s] === 0) queue.push(s);
    }
  }
  let maxRank = Math.max(0, ...rank);
  for (let i = 0; i < steps.length; i++) if (rank[i] === -1) rank[i] = ++maxRank;

  const nodes: LNode[] = steps.map((_, i) => ({
    id: i,
    size: crossSize,
    up: [],
    down: [],
    pos: 0,
    order: 0,
  }));
  const layers: number[][] = Array.from({ length: maxRank + 1 }, () => []);
  for (const i of queue.length === steps.length ? queue : steps.map((_, k) => k))
    layers[rank[i] ?? 0]?.push(i);
  const link = (a: number, b: number) => {
    nodes[a]?.down.push(b);
    nodes[b]?.up.push(a);
  };
  preds.forEach((p, child) => {
    for (const parent of p) {
      const from = rank[parent] ?? 0;
      const to = rank[child] ?? 0;
      if (to <= from) continue; // a back edge of a cycle: drawn, but not part of the layering
      let prev = parent;
      for (let r = from + 1; r < to; r++) {
        const dummy = nodes.length;
        nodes.push({ id: dummy, size: DUMMY_SIZE, up: [], down: [], pos: 0, order: 0 });
        layers[r]?.push(dummy);
        link(prev, dummy);
        prev = dummy;
      }
      link(prev, child);
    }
  });

  const renumber = (layer: number[]) => layer.forEach((id, k) => ((nodes[id] as LNode).order = k));
  layers.forEach(renumber);
  const barycenter = (ids: number[]): number | null =>
    ids.length ? ids.reduce((sum, id) => sum + (nodes[id]?.order ?? 0), 0) / ids.length : null;
  for (let sweep = 0; sweep < SWEEPS; sweep++) {
    const down = sweep % 2 === 0;
    const order = down ? layers.slice(1) : layers.slice(0, -1).reverse();
    for (const layer of order) {
      const keyed = layer.map((id) => {
        const n = nodes[id] as LNode;
        return { id, key: barycenter(down ? n.up : n.down) ?? n.order };
      });
      keyed.sort((a, b) => a.key - b.key || (nodes[a.id]?.order ?? 0) - (nodes[b.id]?.order ?? 0));
      keyed.forEach((k, i) => (layer[i] = k.id));
      renumber(layer);
    }
  }

  // Positions: pack, then pull each node towards its neighbours' centres without breaking order or gaps.
  for (const layer of layers) {
    let at = 0;
    for (const id of layer) {
      const n = nodes[id] as LNode;
      n.pos = at + n.size / 2;
      at += n.size + nodeSep;
    }
  }
  const place = (layer: number[], neighbours: (n: LNode) => number[]) => {
    const offsets: number[] = [];
    let offset = 0;
    layer.forEach((id, k) => {
      if (k > 0) {
        const prev = nodes[layer[k - 1] ?? 0] as LNode;
        offset += prev.size / 2 + nodeSep + (nodes[id] as LNode).size / 2;
      }
      offsets.push(offset);
    });
    const targets = layer.map((id, k) => {
      const n = nodes[id] as LNode;
      const ns = neighbours(n);
      const want = ns.length ? ns.reduce((s, m) => s + (nodes[m]?.pos ?? 0), 0) / ns.length : n.pos;
      return want - (offsets[k] ?? 0);
    });
    isotonic(targets).forEach((y, k) => ((nodes[layer[k] ?? 0] as LNode).pos = y + (offsets[k] ?? 0)));
  };
  for (let pass = 0; pass < POSITION_PASSES; pass++) {
    if (pass % 2 === 0) layers.slice(1).forEach((l) => place(l, (n) => n.up));
    else
      layers
        .slice(0, -1)
        .reverse()
        .forEach((l) => place(l, (n) => n.down));
  }
  layers.forEach((l) => place(l, (n) => [...n.up, ...n.down]));

  let min = Infinity;
  let max = -Infinity;
  for (const n of nodes) {
    min = Math.min(min, n.pos - n.size / 2);
    max = Math.max(max, n.pos + n.size / 2);
  }
  const margin = 8;
  const positions = new Map<string, Point>();
  steps.forEach((s, i) => {
    const n = nodes[i] as LNode;
    const cross = n.pos - n.size / 2 - min + margin;
    const along = (rank[i] ?? 0) * (rankSize + rankSep) + margin;
    positions.set(s.name, vertical ? { x: cross, y: along } : { x: along, y: cross });
  });
  const crossExtent = (Number.isFinite(max - min) ? max - min : 0) + 2 * margin;
  const rankExtent = (maxRank + 1) * (rankSize + rankSep) - rankSep + 2 * margin;
  return {
    positions,
    width: vertical ? crossExtent : rankExtent,
    height: vertical ? rankExtent : crossExtent,
  };
}
