import { useAuth } from '../auth/auth';
import { useLiveStatus } from '../live/live-provider';
import { Link, useLocation } from '../router';
import type { Route } from '../lib/routes';

const NAV: { to: string; label: string; pages: Route['page'][] }[] = [
  { to: '', label: 'Overview', pages: ['overview'] },
  { to: 'tasks', label: 'Tasks', pages: ['tasks', 'task'] },
  { to: 'triage', label: 'Triage', pages: ['triage', 'failure-group', 'bulk-job'] },
  { to: 'bottlenecks', label: 'Bottlenecks', pages: ['bottlenecks'] },
  { to: 'impact', label: 'Business impact', pages: ['impact'] },
  { to: 'templates', label: 'Templates', pages: ['templates'] },
  { to: 'workers', label: 'Workers', pages: ['workers'] },
  { to: 'audit', label: 'Audit', pages: ['audit'] },
];

function LiveIndicator() {
  const live = useLiveStatus();
  const label =
    live.state === 'connected'
      ? 'Live'
      : live.state === 'paused'
        ? 'Paused'
        : live.retries > 0
          ? 'Reconnecting'
          : 'Connecting';
  const title =
    live.state === 'connected'
      ? 'Receiving live updates'
      : live.state === 'paused'
        ? `Live updates paused${live.detail ? `: ${live.detail}` : ''}`
        : `Connecting to live updates${live.detail ? ` (${live.detail})` : ''}`;
  return (
    <span
      className={`live live--${live.state}`}
      data-live={live.state}
      title={title}
      role="status"
      aria-label={title}
    >
      <span className="live__dot" aria-hidden="true" />
      {label}
    </span>
  );
}

export function TopBar() {
  const { route } = useLocation();
  const auth = useAuth();
  const { principal } = auth;
  return (
    <header className="topbar">
      <Link to="" className="topbar__brand">
        <svg viewBox="0 0 20 20" width="18" height="18" aria-hidden="true" className="topbar__logo">
          <rect x="1" y="1" width="7" height="7" rx="1.5" />
          <rect x="12" y="6.5" width="7" height="7" rx="1.5" />
          <rect x="1" y="12" width="7" height="7" rx="1.5" />
          <path d="M8 4.5 H10 V10 H12 M8 15.5 H10 V10" fill="none" strokeWidth="1.5" />
        </svg>
        Tasker
      </Link>
      <nav className="topbar__nav" aria-label="Main">
        <ul>
          {NAV.map((item) => (
            <li key={item.label}>
              <Link
                to={item.to}
                className="topbar__link"
                aria-current={item.pages.includes(route.page) ? 'page' : undefined}
              >
                {item.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="topbar__right">
        <LiveIndicator />
        <span className="principal" title={`Scopes: ${principal.scopes.join(', ') || 'none'}`}>
          <span className="principal__name">
            {principal.name}
            {!auth.canWrite && <span className="principal__ro">read-only</span>}
          </span>
          <span className="principal__ns">
            {principal.namespaces === null
              ? 'all namespaces'
              : `namespaces: ${principal.namespaces.join(', ') || 'none'}`}
          </span>
        </span>
        {auth.hasToken && (
          <button type="button" className="btn btn--tiny btn--ghost-dark" onClick={() => auth.signOut()}>
            Sign out
          </button>
        )}
      </div>
    </header>
  );
}
