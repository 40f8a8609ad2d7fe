/**
 * Typed calls for every route in console/CONTRACT.md, each a route of routes.ts, checked at compile time
 * against the server's OpenAPI document. Every request carries the bearer token when there is one; a 401
 * anywhere tells the auth layer to ask for a token again.
 */
import { authHeader } from '../auth/token';
import { config } from '../config';
import type {
  ConsoleRoutes,
  ExpectTrue,
  OnlyDocumentedQuery,
  PathParams,
  RouteBody,
  RouteKey,
  RouteQuery,
} from './routes';
import type { ApiErrorBody, AuditOutcome, BulkActionRequest, BulkDryRun, BulkJob } from './types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type UnauthorizedListener = () => void;
const unauthorizedListeners = new Set<UnauthorizedListener>();

/** Called on any 401 so the token prompt comes back (token revoked or expired). */
export function onUnauthorized(listener: UnauthorizedListener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export function notifyUnauthorized(): void {
  unauthorizedListeners.forEach((l) => l());
}

export type QueryValue = string | number | boolean | null | undefined | readonly string[];

export function buildQuery(params: Record<string, QueryValue>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) {
      for (const item of value as readonly string[]) if (item) search.append(key, item);
    } else {
      search.append(key, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Path segments come from API data (ids, step names): always encoded. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

export function apiUrl(path: string): string {
  return `${config.api}${path}`;
}

async function errorFrom(response: Response): Promise<ApiError> {
  let body: Partial<ApiErrorBody> | null = null;
  try {
    body = (await response.json()) as Partial<ApiErrorBody>;
  } catch {
    body = null;
  }
  const code = typeof body?.error === 'string' ? body.error : `HTTP_${response.status}`;
  const message =
    typeof body?.message === 'string' ? body.message : `${response.status} ${response.statusText}`.trim();
  return new ApiError(response.status, code, message, body?.details);
}

type RequestOptions<K extends RouteKey> = {
  query?: RouteQuery<K>;
  signal?: AbortSignal | undefined;
  /** Statuses whose JSON body is still the answer (health is 503 when unhealthy, with a report). */
  acceptStatus?: number[];
} & ([keyof PathParams<K>] extends [never] ? { params?: never } : { params: PathParams<K> }) &
  ([RouteBody<K>] extends [never] ? { body?: never } : { body: RouteBody<K> });

/**
 * A route's path under the API's base, its parameters encoded: `GET /tasks/{id}` with `{id: 'a/b'}` is
 * `/tasks/a%2Fb`.
 */
export function routePath<K extends RouteKey>(route: K, params?: PathParams<K>): string {
  const values: Record<string, string | undefined> = params ?? {};
  return route
    .slice(route.indexOf(' ') + 1)
    .replace(/\{([^}]+)\}/g, (_, name: string) => segment(values[name] ?? ''));
}

/**
 * Calls a route of ConsoleRoutes (routes.ts): method, parameters and body are the document's, the answer is
 * the console's type for it (R narrows it where the body decides, as for a bulk dry run).
 */
export async function request<K extends RouteKey, R extends ConsoleRoutes[K] = ConsoleRoutes[K]>(
  route: K,
  options: RequestOptions<K>,
): Promise<R> {
  const path =
    routePath(route, options.params) + buildQuery({ ...(options.query as Record<string, QueryValue>) });
  const headers: Record<string, string> = { Accept: 'application/json', ...authHeader() };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(apiUrl(path), {
      method: route.slice(0, route.indexOf(' ')),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      credentials: 'omit',
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(
      0,
      'NETWORK',
      `The server did not answer (${err instanceof Error ? err.message : 'network error'})`,
    );
  }
  if (response.ok || options.acceptStatus?.includes(response.status)) {
    return (await response.json()) as R;
  }
  const error = await errorFrom(response);
  if (response.status === 401) notifyUnauthorized();
  throw error;
}

export interface TaskQuery {
  status?: readonly string[];
  namespace?: string;
  name?: string;
  version?: string;
  correlation_id?: string;
  tag?: string;
  created_after?: string;
  created_before?: string;
  limit?: number;
  cursor?: string;
}

// Passed whole (spread), so checked here: every key is a query parameter the route documents.
type _TaskQueryDocumented = ExpectTrue<OnlyDocumentedQuery<TaskQuery, 'GET /tasks'>>;

export type TimeRange = string;

export interface AuditQuery {
  task_id?: string;
  actor?: string;
  action?: string;
  outcome?: string;
  limit?: number;
  cursor?: string;
}

type _AuditQueryDocumented = ExpectTrue<OnlyDocumentedQuery<AuditQuery, 'GET /audit'>>;

/** A bulk action's body without `dry_run`: the same body is sent for the preview and for the real run. */
export type BulkActionBody = Omit<BulkActionRequest, 'dry_run'>;

export const api = {
  whoami: (signal?: AbortSignal) => request('GET /whoami', { signal }),
  health: (signal?: AbortSignal) => request('GET /health', { signal, acceptStatus: [503] }),
  listTasks: (query: TaskQuery, signal?: AbortSignal) =>
    request('GET /tasks', { query: { ...query }, signal }),
  task: (id: string, signal?: AbortSignal) =>
    request('GET /tasks/{id}', {
      params: { id },
      query: { include_dependencies: true, include_business_metrics: true, include_attempts: true },
      signal,
    }),
  transitions: (id: string, signal?: AbortSignal) =>
    request('GET /tasks/{id}/transitions', { params: { id }, signal }),
  throughput: (range: TimeRange, bucket: string, signal?: AbortSignal) =>
    request('GET /analytics/throughput', { query: { time_range: range, bucket }, signal }),
  bottlenecks: (range: TimeRange, signal?: AbortSignal) =>
    request('GET /analytics/bottlenecks', { query: { time_range: range }, signal }),
  businessImpact: (range: TimeRange, signal?: AbortSignal) =>
    request('GET /analytics/business-impact', { query: { time_range: range }, signal }),
  failureGroups: (range: TimeRange, filter: { namespace?: string; name?: string }, signal?: AbortSignal) =>
    request('GET /analytics/failure-groups', {
      query: { time_range: range, namespace: filter.namespace, name: filter.name },
      signal,
    }),
  failureGroup: (fingerprint: string, range: TimeRange, signal?: AbortSignal) =>
    request('GET /analytics/failure-groups/{fingerprint}', {
      params: { fingerprint },
      query: { time_range: range },
      signal,
    }),
  handlers: (signal?: AbortSignal) => request('GET /handlers', { signal }),
  workers: (signal?: AbortSignal) => request('GET /workers', { signal }),
  retryTask: (id: string, reason: string) =>
    request('POST /tasks/{id}/retry', { params: { id }, body: reason ? { reason } : {} }),
  cancelTask: (id: string, reason: string) =>
    request('POST /tasks/{id}/cancel', { params: { id }, body: reason ? { reason } : {} }),
  resolveStep: (id: string, step: string, results: unknown) =>
    request('POST /tasks/{id}/steps/{step}/resolve', { params: { id, step }, body: { results } }),
  /** Changes nothing: what the action would do. */
  bulkDryRun: (body: BulkActionBody) =>
    request<'POST /bulk-actions', BulkDryRun>('POST /bulk-actions', { body: { ...body, dry_run: true } }),
  /** Starts the job (202); it runs in the background. */
  startBulk: (body: BulkActionBody) =>
    request<'POST /bulk-actions', { job: BulkJob }>('POST /bulk-actions', {
      body: { ...body, dry_run: false },
    }),
  bulkJob: (id: string, signal?: AbortSignal) =>
    request('GET /bulk-actions/{id}', { params: { id }, signal }),
  bulkJobs: (limit: number, signal?: AbortSignal) =>
    request('GET /bulk-actions', { query: { limit }, signal }),
  stopBulkJob: (id: string, reason: string) =>
    request('POST /bulk-actions/{id}/stop', { params: { id }, body: { reason } }),
  audit: (query: AuditQuery, signal?: AbortSignal) =>
    request('GET /audit', {
      // The document's `outcome` is an enum (ok, refused, failed); the console passes on whatever the URL
      // says (an outcome a newer server added, or a wrong one the server's 400 explains), so it widens it.
      query: { ...query, outcome: query.outcome as AuditOutcome | undefined },
      signal,
    }),
  /** `against` is `last_success` or a task id. */
  compare: (id: string, against: string, signal?: AbortSignal) =>
    request('GET /tasks/{id}/compare', { params: { id }, query: { with: against }, signal }),
};

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
