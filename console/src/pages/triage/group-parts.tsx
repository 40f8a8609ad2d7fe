/** Small pieces the triage list and the group page share. */
import type { FailureGroup } from '../../api/types';
import { breakdownText, statusBreakdown } from '../../lib/triage';

export function OngoingBadge() {
  return (
    <span className="badge badge--ongoing" title="A failure in the last 5 minutes">
      <span className="badge__dot" aria-hidden="true" />
      ongoing
    </span>
  );
}

/** A critical workflow's group: its alerts page at critical severity. */
export function CriticalBadge({ critical }: { critical: boolean | undefined }) {
  if (!critical) return null;
  return (
    <span className="badge badge--ongoing" title="A critical workflow: its alerts page at critical severity">
      critical
    </span>
  );
}

export function KindBadge({ kind }: { kind: string }) {
  if (kind === 'failure') return null;
  return (
    <span
      className="badge badge--stuck"
      title="Tasks in progress whose steps made no progress for longer than their timeouts allow"
    >
      {kind}
    </span>
  );
}

/** "12 tasks" with where they are now: failed, stuck, retrying, recovered, cancelled. */
export function TaskCounts({ group }: { group: FailureGroup }) {
  const parts = statusBreakdown(group.by_status);
  return (
    <span className="task-counts" title={breakdownText(group.by_status)}>
      <strong>{group.tasks.toLocaleString('en-US')}</strong>
      {parts.length > 0 && (
        <span className="task-counts__parts">
          {parts.map((p) => (
            <span key={p.key} className={`task-counts__part task-counts__part--${p.key}`}>
              {p.count.toLocaleString('en-US')} {p.key}
            </span>
          ))}
        </span>
      )}
    </span>
  );
}
