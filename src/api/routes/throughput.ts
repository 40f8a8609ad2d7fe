/**
 * /analytics/throughput: tasks created, completed and failed per time bucket and template (aggregated in
 * SQL), with the tasks in progress and the ready steps now. What the console's overview draws.
 *
 * Two choices keep it cheap however many consoles watch: buckets are aligned to their width, and an answer
 * is reused for CACHE_MS (half a second) by every caller asking the same question (the same range, bucket, filters and
 * visible namespaces), so N open overviews refetching every second cost the store at most two queries a second.
 * Completions and failures are counted by when they happened, for tasks created up to LOOKBACK before the
 * window (a task created 61 minutes ago that fails now is a failure of the last hour).
 */
import type { FastifyPluginAsync } from 'fastify';
import { TaskerError } from '../../errors.js';
import type { ActiveCounts, ThroughputRow } from '../../store/port.js';
import { visibleNamespaces } from '../auth.js';
import type { ApiContext } from '../plugin.js';
import { parseRange } from '../params.js';
import { QUERY, type Query } from './analytics.js';

const THROUGHPUT_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...QUERY.properties,
    bucket: {
      type: 'string',
      maxLength: 20,
      description:
        'bucket width, e.g. 10s, 1m, 1h (default: the smallest of 10s, 30s, 1m, 5m, 15m, 1h, 6h, 1d giving at most 120 buckets)',
    },
  },
} as const;

/** Bucket widths chosen by default: the smallest giving at most 120 buckets. */
const AUTO_BUCKETS_MS = [10, 30, 60, 300, 900, 3600, 6 * 3600, 86_400].map((s) => s * 1000);
const MAX_BUCKETS = 1000;
const CACHE_MS = 500;
const MAX_LOOKBACK_MS = 24 * 3_600_000;

interface Answer {
  at: number;
  value: Promise<{ rows: ThroughputRow[]; active: ActiveCounts; from: number; to: number }>;
}

export function throughputRoutes({ tasker }: ApiContext): FastifyPluginAsync {
  const cache = new Map<string, Answer>();
  return async (app) => {
    app.get<{ Querystring: Query & { bucket?: string } }>(
      '/analytics/throughput',
      {
        config: { scope: 'tasks:read' },
        schema: {
          summary:
            'Tasks created, completed and failed per time bucket and template, with tasks in progress and ready steps now',
          querystring: THROUGHPUT_QUERY,
        },
      },
      async (req) => {
        const q = req.query;
        const rangeMs = parseRange('time_range', q.time_range, '1h');
        const bucketMs =
          q.bucket !== undefined
            ? parseRange('bucket', q.bucket, '1m')
            : (AUTO_BUCKETS_MS.find((b) => rangeMs / b <= 120) ?? 86_400_000);
        if (rangeMs / bucketMs > MAX_BUCKETS) {
          throw new TaskerError(
            'INVALID_ARGUMENT',
            `bucket: "${q.bucket ?? ''}" splits time_range "${q.time_range}" into more than ${MAX_BUCKETS} buckets; use a wider bucket`,
            { field: 'bucket', value: q.bucket },
          );
        }
        const allowed = visibleNamespaces(req.principal);
        const hidden = allowed !== null && q.namespace !== undefined && !allowed.includes(q.namespace);
        const key = JSON.stringify([rangeMs, bucketMs, q.namespace, q.name, allowed]);
        const now = Date.now();
        let answer = cache.get(key);
        if (!answer || now - answer.at > CACHE_MS) {
          for (const [k, a] of cache) if (now - a.at > CACHE_MS) cache.delete(k);
          // Aligned to the bucket width, so refetching moves the window without reshuffling the buckets.
          const from = Math.floor((now - rangeMs) / bucketMs) * bucketMs;
          const value = Promise.all([
            hidden
              ? []
              : tasker.throughput({
                  from,
                  to: now,
                  bucketMs,
                  scanFrom: from - Math.min(rangeMs, MAX_LOOKBACK_MS),
                  namespace: q.namespace,
                  name: q.name,
                  namespaces: allowed,
                }),
            tasker.activeCounts(),
          ]).then(([rows, active]) => ({ rows, active, from, to: now }));
          answer = { at: now, value };
          cache.set(key, answer);
          value.catch(() => cache.delete(key));
        }
        const { rows, active, from, to } = await answer.value;
        const count = Math.ceil((to - from) / bucketMs);
        const series = new Map<
          string,
          { namespace: string; name: string; created: number[]; completed: number[]; failed: number[] }
        >();
        for (const r of rows) {
          if (r.bucket < 0 || r.bucket >= count) continue;
          const key = `${r.namespace}\u0000${r.name}`;
          let s = series.get(key);
          if (!s) {
            const zeros = () => new Array<number>(count).fill(0);
            s = {
              namespace: r.namespace,
              name: r.name,
              created: zeros(),
              completed: zeros(),
              failed: zeros(),
            };
            series.set(key, s);
          }
          s.created[r.bucket] = (s.created[r.bucket] ?? 0) + r.created;
          s.completed[r.bucket] = (s.completed[r.bucket] ?? 0) + r.completed;
          s.failed[r.bucket] = (s.failed[r.bucket] ?? 0) + r.failed;
        }
        const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
        const list = [...series.values()].sort((a, b) => sum(b.created) - sum(a.created));
        const shown = (ns: string) =>
          (allowed === null || allowed.includes(ns)) && (q.namespace === undefined || ns === q.namespace);
        const iso = (ms: number) => new Date(ms).toISOString();
        return {
          time_range: `${iso(from)} to ${iso(to)}`,
          from: iso(from),
          to: iso(to),
          bucket_seconds: bucketMs / 1000,
          buckets: Array.from({ length: count }, (_, i) => iso(from + i * bucketMs)),
          series: list,
          totals: {
            created: sum(list.map((s) => sum(s.created))),
            completed: sum(list.map((s) => sum(s.completed))),
            failed: sum(list.map((s) => sum(s.failed))),
          },
          in_progress: active.inProgress.filter(
            (r) => shown(r.namespace) && (q.name === undefined || r.name === q.name),
          ),
          ready_steps: active.ready.filter((r) => shown(r.namespace)),
        };
      },
    );
  };
}
