/**
 * The DAG's graph logic without React: edges from depends_on, critical-path and bottleneck marks, and the
 * dagre layout. The layout depends only on the graph's structure, so callers memoise it on structureKey
 * and a status change never re-runs it.
 */
import dagre from '@dagrejs/dagre';
import { layeredLayout } from './layered-layout';

export interface DagStep {
  name: string;
  depends_on: string[];
}

export interface DagEdge {
  id: string;
  source: string;
  target: string;
}

export type Direction = 'TB' | 'LR';

export interface Point {
  x: number;
  y: number;
}

export function edgeId(source: string, target: string): string {
  return JSON.stringify([source, target]);
}

/** One edge per dependency on a known step (an unknown name would point at nothing). */
export function dagEdges(steps: DagStep[]): DagEdge[] {
  const known = new Set(steps.map((s) => s.name));
  const edges: DagEdge[] = [];
  for (const step of steps) {
    for (const dep of new Set(step.depends_on)) {
      if (known.has(dep)) edges.push({ id: edgeId(dep, step.name), source: dep, target: step.name });
    }
  }
  return edges;
}

export interface DagMarks {
  criticalNodes: Set<string>;
  criticalEdges: Set<string>;
  bottleneck: string | null;
}

/**
 * The API names the critical path as a list of step names, root first. An edge is on it when two
 * consecutive names are linked by a real dependency (the list is a path, but never trust a gap).
 */
export function markCriticalPath(
  steps: DagStep[],
  criticalPath: string[],
  bottleneck: string | null,
): DagMarks {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const criticalNodes = new Set(criticalPath.filter((n) => byName.has(n)));
  const criticalEdges = new Set<string>();
  for (let i = 0; i + 1 < criticalPath.length; i++) {
    const from = criticalPath[i];
    const to = criticalPath[i + 1];
    if (from === undefined || to === undefined) continue;
    if (byName.get(to)?.depends_on.includes(from)) criticalEdges.add(edgeId(from, to));
  }
  return {
    criticalNodes,
    criticalEdges,
    bottleneck: bottleneck && byName.has(bottleneck) ? bottleneck : null,
  };
}

export function structureKey(steps: DagStep[]): string {
  return JSON.stringify(steps.map((s) => [s.name, s.depends_on]));
}

export interface LayoutOptions {
  direction: Direction;
  nodeWidth: number;
  nodeHeight: number;
}

export interface DagLayout {
  positions: Map<string, Point>;
  width: number;
  height: number;
}

/** Above this many steps dagre takes hundreds of milliseconds; the small layered layout takes a few. */
export const DAGRE_MAX_STEPS = 60;

/** Top-left corner of each node (xyflow's origin). */
export function layoutDag(steps: DagStep[], options: LayoutOptions): DagLayout {
  return steps.length > DAGRE_MAX_STEPS ? layeredLayout(steps, options) : dagreLayout(steps, options);
}

export function dagreLayout(steps: DagStep[], options: LayoutOptions): DagLayout {
  const g = new dagre.graphlib.Graph();
  g.setGraph({
    rankdir: options.direction,
    nodesep: options.direction === 'TB' ? 24 : 16,
    ranksep: options.direction === 'TB' ? 48 : 64,
    marginx: 8,
    marginy: 8,
  });
  g.setDefaultEdgeLabel(() => ({}));
  for (const step of steps) g.setNode(step.name, { width: options.nodeWidth, height: options.nodeHeight });
  for (const edge of dagEdges(steps)) g.setEdge(edge.source, edge.target);
  dagre.layout(g);
  const positions = new Map<string, Point>();
  for (const step of steps) {
    const node = g.node(step.name) as { x?: number; y?: number } | undefined;
    positions.set(step.name, {
      x: (node?.x ?? 0) - options.nodeWidth / 2,
      y: (node?.y ?? 0) - options.nodeHeight / 2,
    });
  }
  const graph = g.graph() as { width?: number; height?: number };
  return { positions, width: graph.width ?? 0, height: graph.height ?? 0 };
}
