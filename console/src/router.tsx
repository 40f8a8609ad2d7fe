/**
 * A small history-API router under the `<base href>` the server injects. Locations are read through
 * useSyncExternalStore so every component sees the same URL; links are real `<a href>` elements (open in
 * a new tab works) whose plain clicks are handled here without a reload.
 */
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';
import { basePath, matchRoute, relativePath, type Route } from './lib/routes';

const BASE = basePath(typeof document === 'undefined' ? null : document.baseURI);

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());

if (typeof window !== 'undefined') window.addEventListener('popstate', notify);

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const snapshot = () => `${window.location.pathname}${window.location.search}`;

export interface Location {
  path: string;
  search: string;
  route: Route;
}

let cachedKey = '';
let cached: Location = { path: '', search: '', route: { page: 'overview' } };

function readLocation(): Location {
  const key = snapshot();
  if (key !== cachedKey) {
    cachedKey = key;
    const path = relativePath(window.location.pathname, BASE);
    cached = { path, search: window.location.search, route: matchRoute(path) };
  }
  return cached;
}

export function useLocation(): Location {
  return useSyncExternalStore(subscribe, readLocation);
}

/** The absolute href for a route path ("tasks?status=failed"). */
export function href(to: string): string {
  return `${BASE}${to.replace(/^\//, '')}`;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = href(to);
  if (url === snapshot()) return;
  if (options.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  notify();
  if (!options.replace) window.scrollTo(0, 0);
}

/** Replace only the query string of the current route (filters, selected step, time range). */
export function setSearch(search: string, options: { replace?: boolean } = {}): void {
  const path = relativePath(window.location.pathname, BASE);
  navigate(`${path}${search}`, options);
}

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> & { to: string };

export function Link({ to, onClick, children, ...rest }: LinkProps) {
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (rest.target && rest.target !== '_self') return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={href(to)} onClick={handle} {...rest}>
      {children}
    </a>
  );
}
