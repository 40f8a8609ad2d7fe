/**
 * Graph helpers over step declarations. Pure and total: a dependency on a name that is not declared is
 * ignored here (template validation reports it), and for duplicate names the first declaration wins.
 */
import { TaskerError } from '../errors.js';

export interface DagNode {
  name: string;
  dependsOn: readonly string[];
}

/** name -> declared dependencies that exist, in declaration order. */
function dependencyMap(steps: readonly DagNode[]): Map<string, string[]> {
  const declared = new Set(steps.map((s) => s.name));
  const deps = new Map<string, string[]>();
  for (const s of steps) {
    if (deps.has(s.name)) continue;
    deps.set(
      s.name,
      s.dependsOn.filter((d, i) => declared.has(d) && s.dependsOn.indexOf(d) === i),
    );
  }
  return deps;
}

/** name -> steps that declare a dependency on it. */
function dependantMap(steps: readonly DagNode[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name] of dependencyMap(steps)) out.set(name, []);
  for (const [name, deps] of dependencyMap(steps)) for (const d of deps) out.get(d)?.push(name);
  return out;
}

/**
 * The first cycle found (searching in declaration order), as names where each depends on the next and the
 * first is repeated at the end: `['a', 'b', 'a']` means a depends on b and b on a. Null when acyclic.
 */
export function findCycle(steps: readonly DagNode[]): string[] | null {
  const deps = dependencyMap(steps);
  const state = new Map<string, 'active' | 'done'>();
  // Iterative DFS: templates are small, but a generated one with thousands of chained steps must not
  // overflow the call stack.
  for (const root of deps.keys()) {
    if (state.has(root)) continue;
    const path: string[] = [root];
    const next: number[] = [0];
    state.set(root, 'active');
    while (path.length > 0) {
      const top = path.length - 1;
      const node = path[top] as string;
      const children = deps.get(node) ?? [];
      const i = next[top] as number;
      if (i >= children.length) {
        state.set(node, 'done');
        path.pop();
        next.pop();
        continue;
      }
      next[top] = i + 1;
      const child = children[i] as string;
      const s = state.get(child);
      if (s === 'active') return [...path.slice(path.indexOf(child)), child];
      if (s === undefined) {
        state.set(child, 'active');
        path.push(child);
        next.push(0);
      }
    }
  }
  return null;
}

/**
 * Kahn's algorithm; among steps that are ready at the same time the earlier-declared one comes first, so
 * the order is stable across runs and matches how the file reads.
 */
export function topoOrder(steps: readonly DagNode[]): string[] {
  const deps = dependencyMap(steps);
  const dependants = dependantMap(steps);
  const names = [...deps.keys()];
  const index = new Map(names.map((n, i) => [n, i]));
  const pending = new Map(names.map((n) => [n, deps.get(n)?.length ?? 0]));
  const ready = names.filter((n) => pending.get(n) === 0);
  const order: string[] = [];
  while (ready.length > 0) {
    const name = ready.shift() as string;
    order.push(name);
    for (const d of dependants.get(name) ?? []) {
      const left = (pending.get(d) ?? 0) - 1;
      pending.set(d, left);
      if (left === 0) {
        const at = ready.findIndex((r) => (index.get(r) ?? 0) > (index.get(d) ?? 0));
        ready.splice(at === -1 ? ready.length : at, 0, d);
      }
    }
  }
  if (order.length < names.length) {
    const cycle = findCycle(steps) ?? [];
    throw new TaskerError('TEMPLATE_INVALID', `dependency cycle: ${cycle.join(' -> ')}`, { cycle });
  }
  return order;
}

function reach(edges: Map<string, string[]>, start: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(edges.get(start) ?? [])];
  while (stack.length > 0) {
    const n = stack.pop() as string;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...(edges.get(n) ?? []));
  }
  return seen;
}

/** Every step that directly or transitively depends on `name` (excludes `name` unless it is in a cycle). */
export function descendants(steps: readonly DagNode[], name: string): Set<string> {
  return reach(dependantMap(steps), name);
}

/** Every step `name` directly or transitively depends on (excludes `name` unless it is in a cycle). */
export function ancestors(steps: readonly DagNode[], name: string): Set<string> {
  return reach(dependencyMap(steps), name);
}
