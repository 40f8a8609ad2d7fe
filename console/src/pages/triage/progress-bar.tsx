import type { BulkJob } from '../../api/types';
import { bulkProgress } from '../../lib/bulk';

/** Done, skipped and failed tasks as shares of the job's total (widths through React's style prop). */
export function ProgressBar({
  job,
  compact = false,
}: {
  job: Pick<BulkJob, 'status' | 'total' | 'done' | 'skipped' | 'failed'>;
  compact?: boolean;
}) {
  const p = bulkProgress(job);
  const pct = (share: number) => `${(share * 100).toFixed(2)}%`;
  return (
    <div
      className={`progress${compact ? ' progress--compact' : ''}`}
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={p.total}
      aria-valuenow={p.processed}
      aria-valuetext={p.label}
      title={p.label}
    >
      <span className="progress__seg progress__seg--done" style={{ width: pct(p.segments.done) }} />
      <span className="progress__seg progress__seg--skipped" style={{ width: pct(p.segments.skipped) }} />
      <span className="progress__seg progress__seg--failed" style={{ width: pct(p.segments.failed) }} />
    </div>
  );
}
