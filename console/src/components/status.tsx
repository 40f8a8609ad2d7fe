/**
 * Status shown as colour, an icon and the word, never colour alone. The icon shapes differ per status too
 * (circle, check, cross, clock…), so they read in greyscale.
 */
import type { ReactElement } from 'react';

const ICONS: Record<string, ReactElement> = {
  pending: <circle cx="8" cy="8" r="5.5" fill="none" strokeWidth="2" />,
  in_progress: (
    <>
      <circle cx="8" cy="8" r="5.5" fill="none" strokeWidth="2" />
      <path d="M8 2.5 A5.5 5.5 0 0 1 8 13.5 Z" stroke="none" />
    </>
  ),
  waiting_for_retry: <path d="M12.5 5.5 A5 5 0 1 0 13 9 M13 2.5 V5.8 H9.7" fill="none" strokeWidth="2" />,
  completed: <path d="M3 8.5 L6.5 12 L13 4.5" fill="none" strokeWidth="2.4" />,
  failed: <path d="M4 4 L12 12 M12 4 L4 12" fill="none" strokeWidth="2.4" />,
  cancelled: (
    <>
      <circle cx="8" cy="8" r="5.5" fill="none" strokeWidth="2" />
      <path d="M4.5 11.5 L11.5 4.5" strokeWidth="2" />
    </>
  ),
  resolved_manually: <path d="M3 13 L3.6 10.2 L10.8 3 L13 5.2 L5.8 12.4 Z" fill="none" strokeWidth="1.8" />,
  blocked: (
    <>
      <rect x="2.5" y="2.5" width="11" height="11" rx="2" fill="none" strokeWidth="2" />
      <path d="M5 8 H11" strokeWidth="2.4" />
    </>
  ),
  live: <circle cx="8" cy="8" r="5" stroke="none" />,
  stopped: <rect x="4" y="4" width="8" height="8" stroke="none" />,
  lost: <path d="M8 2 L14.5 13.5 H1.5 Z M8 6.5 V9.5 M8 11 V11.8" fill="none" strokeWidth="1.8" />,
  healthy: <path d="M3 8.5 L6.5 12 L13 4.5" fill="none" strokeWidth="2.4" />,
  degraded: <path d="M8 2 L14.5 13.5 H1.5 Z M8 6.5 V9.5 M8 11 V11.8" fill="none" strokeWidth="1.8" />,
  unhealthy: <path d="M4 4 L12 12 M12 4 L4 12" fill="none" strokeWidth="2.4" />,
  // Bulk jobs and their tasks, audit outcomes.
  running: (
    <>
      <circle cx="8" cy="8" r="5.5" fill="none" strokeWidth="2" />
      <path d="M8 2.5 A5.5 5.5 0 0 1 8 13.5 Z" stroke="none" />
    </>
  ),
  done: <path d="M3 8.5 L6.5 12 L13 4.5" fill="none" strokeWidth="2.4" />,
  ok: <path d="M3 8.5 L6.5 12 L13 4.5" fill="none" strokeWidth="2.4" />,
  skipped: <path d="M3 4 L7.5 8 L3 12 M8.5 4 L13 8 L8.5 12" fill="none" strokeWidth="1.8" />,
  refused: (
    <>
      <circle cx="8" cy="8" r="5.5" fill="none" strokeWidth="2" />
      <path d="M5 8 H11" strokeWidth="2.2" />
    </>
  ),
};

export function StatusIcon({ status }: { status: string }) {
  return (
    <svg
      className="status-icon"
      viewBox="0 0 16 16"
      width="14"
      height="14"
      aria-hidden="true"
      focusable="false"
    >
      <g stroke="currentColor" fill="currentColor" strokeLinecap="round" strokeLinejoin="round">
        {ICONS[status] ?? ICONS.pending}
      </g>
    </svg>
  );
}

export function statusWord(status: string): string {
  return status.replace(/_/g, ' ');
}

/** A status pill; the class carries the colour, the icon and text carry the meaning. */
export function StatusBadge({ status, compact = false }: { status: string; compact?: boolean }) {
  return (
    <span className={`status status--${status.replace(/[^a-z_]/g, '')}${compact ? ' status--compact' : ''}`}>
      <StatusIcon status={status} />
      <span className="status__word">{statusWord(status)}</span>
    </span>
  );
}
