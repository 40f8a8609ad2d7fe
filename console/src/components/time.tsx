import { useNow } from '../hooks/use-now';
import { exactTitle, formatDateTime, formatRelative } from '../lib/format';

/** "3 min ago", with the exact local time and the API's ISO string on hover. */
export function RelativeTime({ iso, now: fixedNow }: { iso: string | null | undefined; now?: number }) {
  const ticking = useNow(5000);
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={exactTitle(iso)}>
      {formatRelative(iso, fixedNow ?? ticking)}
    </time>
  );
}

/** The exact local time, with the ISO string on hover. */
export function DateTime({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={iso} className="mono">
      {formatDateTime(iso)}
    </time>
  );
}
