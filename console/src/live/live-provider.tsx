/**
 * Connects the one LiveStream to the query cache: list pages are patched from `tasks` events, an open
 * task detail is refetched when its id appears, the overview refetches at most once a second while
 * events arrive, triage (failure groups) at most every 2 s, bulk jobs once a second, the audit log every
 * 5 s, and `resync` (or a reconnect) invalidates everything on screen.
 */
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { createContext, use, useEffect, useState, type ReactNode } from 'react';
import { apiUrl, notifyUnauthorized, routePath } from '../api/client';
import { keys, LIST_LIMIT, type LivePage } from '../api/queries';
import type { StreamTask } from '../api/types';
import { authHeader, onTokenChange } from '../auth/token';
import { applyTaskEvents } from '../lib/list-patch';
import { parseListSearch } from '../lib/task-filters';
import { throttle, type Throttled } from '../lib/throttle';
import { LiveStream, type LiveStatus } from './stream';

const LiveContext = createContext<LiveStatus>({ state: 'connecting', retries: 0, detail: null });

export function useLiveStatus(): LiveStatus {
  return use(LiveContext);
}

/** Failure groups refetch at most this often while task events arrive (and on every resync). */
const TRIAGE_REFRESH_MS = 2000;

/** How far a live first page may grow before it offers a reload instead of more rows. */
const MAX_LIVE_ROWS = LIST_LIMIT * 2;

function patchLists(client: QueryClient, tasks: StreamTask[]): void {
  for (const query of client.getQueryCache().findAll({ queryKey: ['task-list'] })) {
    const page = query.state.data as LivePage | undefined;
    const search = query.queryKey[1];
    if (!page || typeof search !== 'string') continue;
    const state = parseListSearch(search);
    const result = applyTaskEvents(page, tasks, {
      filters: state.filters,
      firstPage: state.cursor === null,
      maxRows: MAX_LIVE_ROWS,
    });
    if (result.page !== page || result.overflow) {
      client.setQueryData<LivePage>(query.queryKey, {
        ...result.page,
        overflow: (page.overflow ?? 0) + result.overflow,
      });
    }
  }
}

export function LiveProvider({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>({ state: 'connecting', retries: 0, detail: null });

  useEffect(() => {
    const overview = throttle(() => void client.invalidateQueries({ queryKey: ['overview'] }), 1000);
    // Analytics scan many tasks: refreshed from events, but not every second.
    const analytics = throttle(() => void client.invalidateQueries({ queryKey: ['analytics'] }), 10_000);
    // Failure groups are what an operator watches during an incident: faster, but a slow answer is never
    // cancelled by the next event (it would never finish under a steady stream).
    const triage = throttle(
      () => void client.invalidateQueries({ queryKey: ['triage'] }, { cancelRefetch: false }),
      TRIAGE_REFRESH_MS,
    );
    // Bulk jobs act on tasks, so task events mean a job moved; the audit log grows with operator actions.
    const bulk = throttle(
      () => void client.invalidateQueries({ queryKey: ['bulk'] }, { cancelRefetch: false }),
      1000,
    );
    const audit = throttle(
      () => void client.invalidateQueries({ queryKey: ['audit'] }, { cancelRefetch: false }),
      5000,
    );
    // A resync refetches what is on screen; analytics keep their own, slower pace.
    const resync = throttle(() => {
      void client.invalidateQueries({ predicate: (q) => q.queryKey[0] !== 'analytics' });
      analytics();
    }, 1000);
    const details = new Map<string, Throttled>();
    const refreshTask = (id: string) => {
      let t = details.get(id);
      if (!t) {
        // Only tasks someone looked at get one; drop the oldest so a long-lived tab stays small.
        if (details.size >= 200) {
          const [oldest] = details.keys();
          if (oldest !== undefined) details.delete(oldest);
        }
        t = throttle(() => void client.invalidateQueries({ queryKey: keys.task(id) }), 1000);
        details.set(id, t);
      }
      t();
    };

    const stream = new LiveStream({
      url: apiUrl(routePath('GET /stream')),
      headers: authHeader,
      handlers: {
        onStatus: setStatus,
        onTasks: (tasks) => {
          patchLists(client, tasks);
          for (const task of tasks) {
            // Only a detail someone is looking at (or recently looked at) is refetched.
            if (client.getQueryState(keys.task(task.id))) refreshTask(task.id);
          }
          overview();
          analytics();
          triage();
          bulk();
          audit();
        },
        onResync: resync,
        onUnauthorized: notifyUnauthorized,
      },
    });
    stream.start();
    const stopWatching = onTokenChange(() => stream.restart());
    return () => {
      stopWatching();
      stream.stop();
      overview.cancel();
      analytics.cancel();
      triage.cancel();
      bulk.cancel();
      audit.cancel();
      resync.cancel();
      details.forEach((t) => t.cancel());
    };
  }, [client]);

  return <LiveContext value={status}>{children}</LiveContext>;
}
