/**
 * One step in the DAG: status as colour, icon and word; attempts n/m; duration; what blocks it. The data
 * attributes are the test hooks (data-step, data-status, data-bottleneck, data-critical).
 */
import { Handle, Position, type Node, type NodeProps } from '@xyflow/react';
import { memo } from 'react';
import { formatDuration } from '../../lib/format';
import { StatusIcon, statusWord } from '../status';

export interface StepNodeData extends Record<string, unknown> {
  name: string;
  /** undefined on a template's DAG: no run, so no status colour. */
  status?: string;
  handler?: string;
  attempts?: number;
  maxAttempts?: number;
  duration?: number | null;
  blockedBy?: string[];
  critical: boolean;
  bottleneck: boolean;
  selected: boolean;
  /** A warning line, e.g. "no live worker has this handler". */
  warning?: string;
  /** A second detail line for templates (retry, timeout). */
  detail?: string;
  vertical: boolean;
}

export type StepNodeType = Node<StepNodeData, 'step'>;

function StepNodeView({ data }: NodeProps<StepNodeType>) {
  const status = data.status ?? 'none';
  const classes = [
    'dag-node',
    `dag-node--${status}`,
    data.critical ? 'dag-node--critical' : '',
    data.bottleneck ? 'dag-node--bottleneck' : '',
    data.selected ? 'dag-node--selected' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return (
    <div
      className={classes}
      data-step={data.name}
      data-status={status}
      data-bottleneck={data.bottleneck ? 'true' : undefined}
      data-critical={data.critical ? 'true' : undefined}
    >
      <Handle type="target" position={data.vertical ? Position.Top : Position.Left} isConnectable={false} />
      <div className="dag-node__name" title={data.name}>
        {data.status && <StatusIcon status={data.status} />}
        <span>{data.name}</span>
      </div>
      <div className="dag-node__meta">
        {data.status ? (
          <>
            <span className="dag-node__status">{statusWord(data.status)}</span>
            {data.attempts !== undefined && (
              <span title="attempts used / allowed">
                {data.attempts}/{data.maxAttempts ?? '?'}
              </span>
            )}
            {data.duration !== undefined && data.duration !== null && (
              <span>{formatDuration(data.duration)}</span>
            )}
          </>
        ) : (
          <span className="dag-node__handler mono" title="handler">
            {data.handler}
          </span>
        )}
      </div>
      {data.blockedBy && data.blockedBy.length > 0 && (
        <div className="dag-node__note">blocked by {data.blockedBy.join(', ')}</div>
      )}
      {data.detail && <div className="dag-node__note">{data.detail}</div>}
      {data.warning && <div className="dag-node__warn">⚠ {data.warning}</div>}
      {data.bottleneck && <div className="dag-node__tag">bottleneck</div>}
      <Handle
        type="source"
        position={data.vertical ? Position.Bottom : Position.Right}
        isConnectable={false}
      />
    </div>
  );
}

export const StepNode = memo(StepNodeView);
