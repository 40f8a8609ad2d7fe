/**
 * The read-only DAG (xyflow + a layered layout). Lazy-loaded: xyflow is the console's largest
 * dependency and only the task detail and templates pages need it. The layout is memoised on the graph's
 * structure, so live status updates only re-render nodes.
 */
import '@xyflow/react/dist/style.css';
import './dag.css';
import {
  Controls,
  MarkerType,
  ReactFlow,
  useNodesInitialized,
  type Edge,
  type NodeMouseHandler,
} from '@xyflow/react';
import { useEffect, useMemo, useState, type KeyboardEvent } from 'react';
import {
  dagEdges,
  layoutDag,
  markCriticalPath,
  structureKey,
  type DagLayout,
  type Direction,
} from '../../lib/dag';
import { useElementWidth } from '../../hooks/use-element-width';
import { StepNode, type StepNodeData, type StepNodeType } from './step-node';

export interface DagStepInfo {
  name: string;
  depends_on: string[];
  status?: string;
  handler?: string;
  attempts?: number;
  maxAttempts?: number;
  duration?: number | null;
  blockedBy?: string[];
  warning?: string;
  detail?: string;
}

export interface DagViewProps {
  steps: DagStepInfo[];
  criticalPath?: string[];
  bottleneck?: string | null;
  selected?: string | null;
  onSelect?: (step: string) => void;
  label: string;
  initialDirection?: Direction;
  /** Called once the nodes are measured and the view fitted (the page renders its long sections then). */
  onReady?: () => void;
}

/** Fires onReady two frames after xyflow has measured every node, i.e. once the fitted graph is painted. */
function ReadySignal({ onReady }: { onReady?: () => void }) {
  const initialized = useNodesInitialized();
  useEffect(() => {
    if (!initialized || !onReady) return;
    let second = 0;
    const first = requestAnimationFrame(() => {
      second = requestAnimationFrame(onReady);
    });
    return () => {
      cancelAnimationFrame(first);
      cancelAnimationFrame(second);
    };
  }, [initialized, onReady]);
  return null;
}

const NODE_W = 210;
const NODE_H = 78;
const nodeTypes = { step: StepNode };
const LARGE = 100;
const FIT_MAX_ZOOM = 1.1;
const MIN_HEIGHT = 170;
const MAX_HEIGHT = 560;

/**
 * Layouts by graph structure: a live refetch brings new step objects (new statuses) but the same graph,
 * and must not pay for the layout again.
 */
const layoutCache = new Map<string, DagLayout>();

function cachedLayout(steps: DagStepInfo[], direction: Direction): DagLayout {
  const key = `${direction}:${structureKey(steps)}`;
  let layout = layoutCache.get(key);
  if (!layout) {
    layout = layoutDag(steps, { direction, nodeWidth: NODE_W, nodeHeight: NODE_H });
    if (layoutCache.size >= 20) layoutCache.delete(layoutCache.keys().next().value ?? '');
    layoutCache.set(key, layout);
  }
  return layout;
}

export default function DagView({
  steps,
  criticalPath = [],
  bottleneck = null,
  selected = null,
  onSelect,
  label,
  initialDirection,
  onReady,
}: DagViewProps) {
  const [ref, width] = useElementWidth<HTMLDivElement>(900);
  const [direction, setDirection] = useState<Direction>(
    initialDirection ?? (steps.length > 12 ? 'TB' : 'LR'),
  );
  const shape = structureKey(steps);
  const layout = useMemo(() => cachedLayout(steps, direction), [steps, direction]);
  const marks = useMemo(
    () => markCriticalPath(steps, criticalPath, bottleneck),
    [steps, criticalPath, bottleneck],
  );
  const vertical = direction === 'TB';

  const nodes = useMemo<StepNodeType[]>(
    () =>
      steps.map((s) => {
        const data: StepNodeData = {
          name: s.name,
          status: s.status,
          handler: s.handler,
          attempts: s.attempts,
          maxAttempts: s.maxAttempts,
          duration: s.duration,
          blockedBy: s.blockedBy,
          warning: s.warning,
          detail: s.detail,
          critical: marks.criticalNodes.has(s.name),
          bottleneck: marks.bottleneck === s.name,
          selected: selected === s.name,
          vertical,
        };
        return {
          id: s.name,
          type: 'step' as const,
          position: layout.positions.get(s.name) ?? { x: 0, y: 0 },
          data,
          width: NODE_W,
          height: NODE_H,
          draggable: false,
          connectable: false,
          selectable: true,
          ariaLabel: `${s.name}${s.status ? `, ${s.status.replace(/_/g, ' ')}` : ''}`,
        };
      }),
    [steps, layout, marks, selected, vertical],
  );

  const edges = useMemo<Edge[]>(
    () =>
      dagEdges(steps).map((e) => {
        const critical = marks.criticalEdges.has(e.id);
        return {
          ...e,
          className: critical ? 'dag-edge dag-edge--critical' : 'dag-edge',
          markerEnd: {
            type: MarkerType.ArrowClosed,
            width: 16,
            height: 16,
            color: critical ? '#6d28d9' : '#8a94a6',
          },
          focusable: false,
          selectable: false,
        };
      }),
    [steps, marks],
  );

  const onNodeClick: NodeMouseHandler<StepNodeType> = (_event, node) => onSelect?.(node.id);
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key !== 'Enter' && event.key !== ' ') return;
    const id = (event.target as HTMLElement).closest<HTMLElement>('.react-flow__node')?.dataset.id;
    if (id) {
      event.preventDefault();
      onSelect?.(id);
    }
  };

  // Tall enough for the graph at the zoom fitView will pick, within bounds: a 5-step chain gets a short
  // strip, a 200-step graph the maximum.
  const zoom = Math.min(FIT_MAX_ZOOM, Math.max(0.05, (width - 24) / Math.max(1, layout.width)));
  const height = Math.round(Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, layout.height * zoom + 56)));
  const showLegend = criticalPath.length > 0 || bottleneck !== null;

  return (
    <div className="dag">
      <div className="dag__toolbar">
        <div className="segmented" role="group" aria-label="Layout direction">
          <button
            type="button"
            className="segmented__item"
            aria-pressed={direction === 'TB'}
            onClick={() => setDirection('TB')}
          >
            Top → bottom
          </button>
          <button
            type="button"
            className="segmented__item"
            aria-pressed={direction === 'LR'}
            onClick={() => setDirection('LR')}
          >
            Left → right
          </button>
        </div>
        {showLegend && (
          <ul className="legend" aria-label="DAG legend">
            <li>
              <span className="legend__swatch legend__swatch--critical" aria-hidden="true" /> critical path
            </li>
            <li>
              <span className="legend__swatch legend__swatch--bottleneck" aria-hidden="true" /> bottleneck
            </li>
          </ul>
        )}
      </div>
      <div
        className="dag__canvas"
        ref={ref}
        style={{ height }}
        role="group"
        aria-label={label}
        onKeyDown={onKeyDown}
      >
        <ReactFlow<StepNodeType>
          key={`${direction}:${shape}`}
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          onNodeClick={onNodeClick}
          fitView
          fitViewOptions={{ padding: 0.08, maxZoom: FIT_MAX_ZOOM }}
          minZoom={0.05}
          maxZoom={2}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={false}
          edgesFocusable={false}
          onlyRenderVisibleElements={steps.length > LARGE}
          proOptions={{ hideAttribution: true }}
          zoomOnScroll={false}
          preventScrolling={false}
          colorMode="light"
        >
          <Controls showInteractive={false} position="top-left" orientation="horizontal" />
          <ReadySignal onReady={onReady} />
        </ReactFlow>
      </div>
    </div>
  );
}
