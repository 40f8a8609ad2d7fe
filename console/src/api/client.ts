/**
 * Typed calls for every route in console/CONTRACT.md. Every request carries the bearer token when there is
 * one; a 401 anywhere tells the auth layer to ask for a token again.
 */
import { authHeader } from '../auth/token';
import { config } from '../config';
import type {
  ApiErrorBody,
  AuditPage,
  Bottlenecks,
  BulkActionRequest,
  BulkDryRun,
  BulkJob,
  BulkJobDetail,
  BulkJobList,
  BusinessImpact,
  FailureGroupDetail,
  FailureGroups,
  HandlerList,
  HealthReport,
  Principal,
  TaskCompare,
  TaskDetail,
  TaskPage,
  Throughput,
  TransitionList,
  WorkerList,
} from './types';

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

interface RequestOptions {
  method?: 'GET' | 'POST';
  body?: unknown;
  signal?: AbortSignal;
  /** Statuses whose JSON body is still the answer (health is 503 when unhealthy, with a report). */
  acceptStatus?: number[];
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...authHeader() };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(apiUrl(path), {
      method: options.method ?? 'GET',
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
    return (await response.json()) as T;
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

export type TimeRange = string;

export interface AuditQuery {
  task_id?: string;
  actor?: string;
  action?: string;
  outcome?: string;
  limit?: number;
  cursor?: string;
}

/** A bulk action's body without `dry_run`: the same body is sent for the preview and for the real run. */
export type BulkActionBody = Omit<BulkActionRequest, 'dry_run'>;

export const api = {
  whoami: (signal?: AbortSignal) => request<Principal>('/whoami', { signal }),
  health: (signal?: AbortSignal) => request<HealthReport>('/health', { signal, acceptStatus: [503] }),
  listTasks: (query: TaskQuery, signal?: AbortSignal) =>
    request<TaskPage>(`/tasks${buildQuery({ ...query })}`, { signal }),
  task: (id: string, signal?: AbortSignal) =>
    request<TaskDetail>(
      `/tasks/${segment(id)}${buildQuery({
        include_dependencies: true,
        include_business_metrics: true,
        include_attempts: true,
      })}`,
      { signal },
    ),
  transitions: (id: string, signal?: AbortSignal) =>
    request<TransitionList>(`/tasks/${segment(id)}/transitions`, { signal }),
  throughput: (range: TimeRange, bucket: string, signal?: AbortSignal) =>
    request<Throughput>(`/analytics/throughput${buildQuery({ time_range: range, bucket })}`, { signal }),
  bottlenecks: (range: TimeRange, signal?: AbortSignal) =>
    request<Bottlenecks>(`/analytics/bottlenecks${buildQuery({ time_range: range })}`, { signal }),
  businessImpact: (range: TimeRange, signal?: AbortSignal) =>
    request<BusinessImpact>(`/analytics/business-impact${buildQuery({ time_range: range })}`, { signal }),
  failureGroups: (range: TimeRange, filter: { namespace?: string; name?: string }, signal?: AbortSignal) =>
    request<FailureGroups>(
      `/analytics/failure-groups${buildQuery({ time_range: range, namespace: filter.namespace, name: filter.name })}`,
      { signal },
    ),
  failureGroup: (fingerprint: string, range: TimeRange, signal?: AbortSignal) =>
    request<FailureGroupDetail>(
      `/analytics/failure-groups/${segment(fingerprint)}${buildQuery({ time_range: range })}`,
      { signal },
    ),
  handlers: (signal?: AbortSignal) => request<HandlerList>('/handlers', { signal }),
  workers: (signal?: AbortSignal) => request<WorkerList>('/workers', { signal }),
  retryTask: (id: string, reason: string) =>
    request<TaskDetail>(`/tasks/${segment(id)}/retry`, { method: 'POST', body: reason ? { reason } : {} }),
  cancelTask: (id: string, reason: string) =>
    request<TaskDetail>(`/tasks/${segment(id)}/cancel`, { method: 'POST', body: reason ? { reason } : {} }),
  resolveStep: (id: string, step: string, results: unknown) =>
    request<TaskDetail>(`/tasks/${segment(id)}/steps/${segment(step)}/resolve`, {
      method: 'POST',
      body: { results },
    }),
  /** Changes nothing: what the action would do. */
  bulkDryRun: (body: BulkActionBody) =>
    request<BulkDryRun>('/bulk-actions', { method: 'POST', body: { ...body, dry_run: true } }),
  /** Starts the job (202); it runs in the background. */
  startBulk: (body: BulkActionBody) =>
    request<{ job: BulkJob }>('/bulk-actions', { method: 'POST', body: { ...body, dry_run: false } }),
  bulkJob: (id: string, signal?: AbortSignal) =>
    request<BulkJobDetail>(`/bulk-actions/${segment(id)}`, { signal }),
  bulkJobs: (limit: number, signal?: AbortSignal) =>
    request<BulkJobList>(`/bulk-actions${buildQuery({ limit })}`, { signal }),
  stopBulkJob: (id: string, reason: string) =>
    request<{ job: BulkJob }>(`/bulk-actions/${segment(id)}/stop`, { method: 'POST', body: { reason } }),
  audit: (query: AuditQuery, signal?: AbortSignal) =>
    request<AuditPage>(`/audit${buildQuery({ ...query })}`, { signal }),
  /** `against` is `last_success` or a task id. */
  compare: (id: string, against: string, signal?: AbortSignal) =>
    request<TaskCompare>(`/tasks/${segment(id)}/compare${buildQuery({ with: against })}`, { signal }),
};

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
