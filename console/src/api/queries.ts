/**
 * Query keys and hooks. Keys are shared with the live layer (live-provider.tsx), which patches or
 * invalidates exactly these entries when stream events arrive; nothing here polls in a loop except the
 * overview's slow fallback.
 */
import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { api, type AuditQuery, type TaskQuery } from './client';
import type { AuditPage, TaskPage } from './types';

export const LIST_LIMIT = 50;

export const keys = {
  /** `session` changes whenever the token does, so a new token means a fresh whoami. */
  whoami: (session: number) => ['whoami', session] as const,
  health: () => ['overview', 'health'] as const,
  throughput: (range: string) => ['overview', 'throughput', range] as const,
  newestFailures: () => ['overview', 'newest-failures'] as const,
  bottlenecks: (range: string) => ['analytics', 'bottlenecks', range] as const,
  impact: (range: string) => ['analytics', 'impact', range] as const,
  /** `search` is the canonical query string from lib/task-filters, so the live layer can re-read it. */
  taskList: (search: string) => ['task-list', search] as const,
  task: (id: string) => ['task', id] as const,
  transitions: (id: string) => ['task', id, 'transitions'] as const,
  handlers: () => ['handlers'] as const,
  workers: () => ['overview', 'workers'] as const,
  /** Failure groups: refetched from stream events at most every 2 s (live-provider.tsx). */
  failureGroups: (range: string, namespace: string, name: string) =>
    ['triage', 'groups', range, namespace, name] as const,
  failureGroup: (fingerprint: string, range: string) => ['triage', 'group', fingerprint, range] as const,
  bulkJob: (id: string) => ['bulk', 'job', id] as const,
  bulkJobs: () => ['bulk', 'jobs'] as const,
  /** `search` is the canonical query string from lib/audit.ts. */
  audit: (search: string) => ['audit', search] as const,
  /** Under the task's key, so an event for the task refreshes them with it. */
  taskAudit: (id: string) => ['task', id, 'audit'] as const,
  compare: (id: string, against: string) => ['task', id, 'compare', against] as const,
};

/** A page of the list plus what the live layer could not fit on it. */
export type LivePage = TaskPage & { overflow?: number };

/** The overview's fallback while no events arrive (the stream drives it otherwise). */
const OVERVIEW_FALLBACK_MS = 30_000;

export function useHealth() {
  return useQuery({
    queryKey: keys.health(),
    queryFn: ({ signal }) => api.health(signal),
    refetchInterval: OVERVIEW_FALLBACK_MS,
  });
}

export function useThroughput(range: string, enabled = true) {
  return useQuery({
    queryKey: keys.throughput(range),
    queryFn: ({ signal }) => api.throughput(range, range === '1h' ? '1m' : bucketFor(range), signal),
    refetchInterval: OVERVIEW_FALLBACK_MS,
    enabled,
  });
}

function bucketFor(range: string): string {
  switch (range) {
    case '15m':
      return '15s';
    case '6h':
      return '5m';
    case '24h':
      return '30m';
    case '7d':
      return '6h';
    default:
      return '1m';
  }
}

export function useNewestFailures() {
  return useQuery({
    queryKey: keys.newestFailures(),
    queryFn: ({ signal }) => api.listTasks({ status: ['failed'], limit: 10 }, signal),
    refetchInterval: OVERVIEW_FALLBACK_MS,
  });
}

export function useBottlenecks(range: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.bottlenecks(range),
    queryFn: ({ signal }) => api.bottlenecks(range, signal),
    enabled,
    placeholderData: keepPreviousData,
  });
}

export function useImpact(range: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.impact(range),
    queryFn: ({ signal }) => api.businessImpact(range, signal),
    enabled,
    placeholderData: keepPreviousData,
  });
}

export function useTaskList(search: string, query: TaskQuery) {
  return useQuery<LivePage>({
    queryKey: keys.taskList(search),
    queryFn: ({ signal }) => api.listTasks(query, signal),
    placeholderData: keepPreviousData,
    // Kept fresh by stream events, not by refetching.
    staleTime: Infinity,
  });
}

export function useTask(id: string) {
  return useQuery({
    queryKey: keys.task(id),
    queryFn: ({ signal }) => api.task(id, signal),
  });
}

export function useTransitions(id: string) {
  return useQuery({
    queryKey: keys.transitions(id),
    queryFn: ({ signal }) => api.transitions(id, signal),
  });
}

export function useHandlers() {
  return useQuery({ queryKey: keys.handlers(), queryFn: ({ signal }) => api.handlers(signal) });
}

export function useWorkers(refetchMs?: number) {
  return useQuery({
    queryKey: keys.workers(),
    queryFn: ({ signal }) => api.workers(signal),
    refetchInterval: refetchMs ?? OVERVIEW_FALLBACK_MS,
  });
}

export function useFailureGroups(
  range: string,
  filter: { namespace: string; name: string },
  enabled: boolean,
) {
  return useQuery({
    queryKey: keys.failureGroups(range, filter.namespace, filter.name),
    queryFn: ({ signal }) =>
      api.failureGroups(range, { namespace: filter.namespace, name: filter.name }, signal),
    enabled,
    placeholderData: keepPreviousData,
  });
}

export function useFailureGroup(fingerprint: string, range: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.failureGroup(fingerprint, range),
    queryFn: ({ signal }) => api.failureGroup(fingerprint, range, signal),
    enabled,
    placeholderData: keepPreviousData,
  });
}

/** A running job is read every second (CONTRACT.md); a finished one no more. */
export const BULK_POLL_MS = 1000;

export function useBulkJob(id: string) {
  return useQuery({
    queryKey: keys.bulkJob(id),
    queryFn: ({ signal }) => api.bulkJob(id, signal),
    refetchInterval: (query) => (query.state.data?.job.status === 'running' ? BULK_POLL_MS : false),
  });
}

export const BULK_LIST_LIMIT = 20;

export function useBulkJobs() {
  return useQuery({
    queryKey: keys.bulkJobs(),
    queryFn: ({ signal }) => api.bulkJobs(BULK_LIST_LIMIT, signal),
    // While one of them runs, its counts move: follow them, at the job page's pace.
    refetchInterval: (query) =>
      query.state.data?.jobs.some((j) => j.status === 'running') ? BULK_POLL_MS : false,
  });
}

export const AUDIT_LIMIT = 50;

/** Keyset pages: "Load more" asks for the page after the last one's `next_cursor`. */
export function useAudit(search: string, query: Omit<AuditQuery, 'cursor' | 'limit'>) {
  return useInfiniteQuery({
    queryKey: keys.audit(search),
    queryFn: ({ signal, pageParam }) =>
      api.audit({ ...query, limit: AUDIT_LIMIT, cursor: pageParam ?? undefined }, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (last: AuditPage) => last.next_cursor ?? undefined,
    placeholderData: keepPreviousData,
  });
}

export const TASK_AUDIT_LIMIT = 20;

export function useTaskAudit(id: string, enabled = true) {
  return useQuery({
    queryKey: keys.taskAudit(id),
    queryFn: ({ signal }) => api.audit({ task_id: id, limit: TASK_AUDIT_LIMIT }, signal),
    enabled,
  });
}

/** Fetched only once the panel is opened. */
export function useCompare(id: string, against: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.compare(id, against),
    queryFn: ({ signal }) => api.compare(id, against, signal),
    enabled,
  });
}
