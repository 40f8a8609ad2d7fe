/**
 * /workers: the worker registry (live workers, and those stopped or lost in the last hour) with the
 * slots they offer and use. A token limited to some namespaces sees only workers that run handlers of
 * its namespaces' templates, and only those handlers.
 */
import type { FastifyPluginAsync } from 'fastify';
import { visibleNamespaces } from '../auth.js';
import type { ApiContext } from '../plugin.js';
import { NO_QUERY } from '../params.js';
import { iso } from '../present.js';

export function workerRoutes({ tasker }: ApiContext): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/workers',
      {
        config: { scope: 'tasks:read' },
        schema: {
          querystring: NO_QUERY,
          summary:
            'Worker processes: live ones and those stopped or lost in the last hour, with slots in use',
        },
      },
      async (req) => {
        const namespaces = visibleNamespaces(req.principal);
        const [workers, backlog] = await Promise.all([
          tasker.listWorkers(undefined, namespaces),
          tasker.countReady(namespaces),
        ]);
        const live = workers.filter((w) => w.status === 'live');
        return {
          workers: workers.map((w) => ({
            id: w.id,
            host: w.host,
            pid: w.pid,
            version: w.version,
            status: w.status,
            started_at: iso(w.startedAt),
            last_heartbeat_at: iso(w.heartbeatAt),
            expires_at: iso(w.expiresAt),
            stopped_at: iso(w.stoppedAt),
            concurrency: w.concurrency,
            in_flight: w.inFlight,
            handlers: w.handlers,
          })),
          live_workers: live.length,
          slots_total: live.reduce((n, w) => n + w.concurrency, 0),
          slots_in_use: live.reduce((n, w) => n + Math.min(w.inFlight, w.concurrency), 0),
          ready_backlog: backlog,
        };
      },
    );
  };
}
