/**
 * The console's client routes (CONTRACT.md: ``, `tasks`, `tasks/<id>`, `bottlenecks`, `impact`,
 * `templates`, `workers`, and for triage `triage`, `triage/<fingerprint>`, `bulk/<job id>`, `audit`)
 * relative to the `<base href>` the server injects, e.g. `/tasker/ui/`.
 */

export type Route =
  | { page: 'overview' }
  | { page: 'tasks' }
  | { page: 'task'; id: string }
  | { page: 'bottlenecks' }
  | { page: 'impact' }
  | { page: 'templates' }
  | { page: 'workers' }
  | { page: 'triage' }
  | { page: 'failure-group'; fingerprint: string }
  | { page: 'bulk-job'; id: string }
  | { page: 'audit' }
  | { page: 'not-found'; path: string };

/** The base path ("/tasker/ui/") from the document's base URL; "/" under the Vite dev server. */
export function basePath(baseUri: string | null | undefined): string {
  if (!baseUri) return '/';
  try {
    const path = new URL(baseUri).pathname;
    return path.endsWith('/') ? path : path.replace(/[^/]*$/, '');
  } catch {
    return '/';
  }
}

/** The route path under the base: "/tasker/ui/tasks/abc" → "tasks/abc". */
export function relativePath(pathname: string, base: string): string {
  let rest: string;
  if (pathname.startsWith(base)) rest = pathname.slice(base.length);
  else if (pathname === base.replace(/\/$/, '')) rest = '';
  else rest = pathname.replace(/^\//, '');
  return rest.replace(/\/+$/, '');
}

export function matchRoute(path: string): Route {
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0) return { page: 'overview' };
  const [first, second] = parts;
  if (parts.length === 1) {
    switch (first) {
      case 'tasks':
        return { page: 'tasks' };
      case 'bottlenecks':
        return { page: 'bottlenecks' };
      case 'impact':
        return { page: 'impact' };
      case 'templates':
        return { page: 'templates' };
      case 'workers':
        return { page: 'workers' };
      case 'triage':
        return { page: 'triage' };
      case 'audit':
        return { page: 'audit' };
      default:
        return { page: 'not-found', path };
    }
  }
  if (parts.length === 2 && second) {
    let value: string;
    try {
      value = decodeURIComponent(second);
    } catch {
      return { page: 'not-found', path };
    }
    switch (first) {
      case 'tasks':
        return { page: 'task', id: value };
      case 'triage':
        return { page: 'failure-group', fingerprint: value };
      case 'bulk':
        return { page: 'bulk-job', id: value };
    }
  }
  return { page: 'not-found', path };
}

/** Route paths for links; ids are always encoded. */
export const paths = {
  overview: () => '',
  tasks: (search = '') => `tasks${search}`,
  task: (id: string, search = '') => `tasks/${encodeURIComponent(id)}${search}`,
  bottlenecks: (search = '') => `bottlenecks${search}`,
  impact: (search = '') => `impact${search}`,
  templates: (search = '') => `templates${search}`,
  workers: () => 'workers',
  triage: (search = '') => `triage${search}`,
  failureGroup: (fingerprint: string, search = '') => `triage/${encodeURIComponent(fingerprint)}${search}`,
  bulkJob: (id: string) => `bulk/${encodeURIComponent(id)}`,
  audit: (search = '') => `audit${search}`,
};
