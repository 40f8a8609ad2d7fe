/**
 * Health: `/health` (the seed's detailed report: 503 when unhealthy), `/health/live` (the process answers;
 * touches nothing) and `/health/ready` (the store answers and, where this process runs a worker, its loop
 * is alive). Every figure is measured when asked, none is a constant.
 */
import type { FastifyPluginAsync } from 'fastify';
import { formatDuration } from '../../core/duration.js';
import type { TaskFilter } from '../../store/port.js';
import { seesNamespace, type Principal } from '../auth.js';
import type { ApiContext } from '../plugin.js';

const HOUR = 3_600_000;
/** A store slower than this is reported degraded. */
const SLOW_STORE_MS = 1000;

export function healthRoutes({ tasker }: ApiContext): FastifyPluginAsync {
  let lastCpu = process.cpuUsage();
  let lastCpuAt = performance.now();
  const cpuPercent = () => {
    const now = performance.now();
    const used = process.cpuUsage(lastCpu);
    const pct = ((used.user + used.system) / 1000 / Math.max(1, now - lastCpuAt)) * 100;
    lastCpu = process.cpuUsage();
    lastCpuAt = now;
    return Math.round(pct * 10) / 10;
  };

  const ping = async () => {
    const t0 = performance.now();
    try {
      await tasker.ping();
      return { ok: true, ms: performance.now() - t0 };
    } catch {
      return { ok: false, ms: performance.now() - t0 };
    }
  };

  /** A token limited to some namespaces counts only their tasks. */
  const count = async (p: Principal, filter: TaskFilter): Promise<number> => {
    if (p.namespaces === null) return tasker.countTasks(filter);
    const counts = await Promise.all(
      [...p.namespaces].map((namespace) => tasker.countTasks({ ...filter, namespace })),
    );
    return counts.reduce((a, b) => a + b, 0);
  };

  /** Retention as configured, this process's last prune, the store's size and oldest task. */
  const retentionCheck = async (dbOk: boolean) => {
    const { retention: r, last, nextAt } = tasker.retentionStatus();
    const stats = dbOk ? await tasker.storeStats().catch(() => null) : null;
    const iso = (ms: number | null | undefined) => (ms == null ? null : new Date(ms).toISOString());
    return {
      // A prune that failed is worth a look; history keeps growing meanwhile.
      status: last?.error ? 'degraded' : 'healthy',
      pruning: r.enabled ? 'in_workers' : 'on_demand',
      keep: {
        completed: formatDuration(r.policy.completed),
        failed: formatDuration(r.policy.failed),
        cancelled: formatDuration(r.policy.cancelled),
        audit: formatDuration(r.auditMs),
      },
      last_prune_at: iso(last?.at),
      last_pruned_tasks: last?.tasks ?? null,
      last_pruned_audit_entries: last?.audit ?? null,
      ...(last?.skipped ? { last_prune_skipped: last.skipped } : {}),
      ...(last?.error ? { last_prune_error: last.error } : {}),
      next_prune_at: iso(nextAt),
      store_size_bytes: stats?.bytes ?? null,
      oldest_task_created_at: iso(stats?.oldestTaskCreatedAt),
    };
  };

  return async (app) => {
    app.get(
      '/health/live',
      { config: { scope: null }, schema: { summary: 'Liveness: the process answers' } },
      async () => ({
        status: 'alive',
        timestamp: new Date().toISOString(),
      }),
    );

    app.get(
      '/health/ready',
      {
        config: { scope: null },
        schema: {
          summary: 'Readiness: store reachable, worker loop alive',
          statuses: { 200: 'Ready', 503: 'Not ready: the body says which check failed' },
        },
      },
      async (_req, reply) => {
        const db = await ping();
        const worker = tasker.workerHealth();
        const ready = db.ok && (worker === null || worker.alive);
        return reply.code(ready ? 200 : 503).send({
          status: ready ? 'ready' : 'not_ready',
          timestamp: new Date().toISOString(),
          database: db.ok ? 'reachable' : 'unreachable',
          worker: worker === null ? 'not_running' : worker.alive ? 'alive' : 'stalled',
        });
      },
    );

    app.get(
      '/health',
      {
        config: { scope: 'tasks:read' },
        schema: {
          summary: 'Detailed health: database, task processing, handlers, performance',
          statuses: { 200: 'Healthy or degraded', 503: 'Unhealthy' },
        },
      },
      async (req, reply) => {
        const db = await ping();
        const now = Date.now();
        const worker = tasker.workerHealth();
        let processing: Record<string, unknown> = { status: 'unknown' };
        let performanceReport: Record<string, unknown> = {};
        if (db.ok) {
          const [active, pending, failed, perf] = await Promise.all([
            count(req.principal, { status: ['in_progress'] }),
            count(req.principal, { status: ['pending'] }),
            count(req.principal, { status: ['error'], createdAfter: now - HOUR }),
            tasker.recentPerformance(now - HOUR),
          ]);
          processing = {
            status: worker !== null && !worker.alive ? 'degraded' : 'healthy',
            active_tasks: active,
            pending_tasks: pending,
            failed_tasks_last_hour: failed,
            worker: worker === null ? 'not_running' : worker.alive ? 'alive' : 'stalled',
          };
          performanceReport = {
            avg_task_completion_time_seconds: perf.avgTaskSeconds,
            avg_step_execution_time_seconds: perf.avgStepSeconds,
            sampled_tasks: perf.sampledTasks,
          };
        }
        const missing = tasker.missingHandlers((ns) => seesNamespace(req.principal, ns));
        const handlers = {
          status: missing.length === 0 ? 'healthy' : 'degraded',
          registered_handlers: tasker.catalog.handlerNames().length,
          namespaces: tasker.catalog.namespaces().filter((ns) => seesNamespace(req.principal, ns)),
          ...(missing.length > 0 ? { missing_handlers: missing } : {}),
        };
        const mem = process.memoryUsage();
        const retention = await retentionCheck(db.ok);
        const checks = {
          database: {
            status: !db.ok ? 'unhealthy' : db.ms > SLOW_STORE_MS ? 'degraded' : 'healthy',
            response_time_ms: Math.round(db.ms * 100) / 100,
            last_check: new Date(now).toISOString(),
          },
          task_processing: processing,
          step_handlers: handlers,
          retention,
        };
        const statuses = Object.values(checks).map((c) => c.status);
        const status =
          statuses.includes('unhealthy') || !db.ok
            ? 'unhealthy'
            : statuses.every((s) => s === 'healthy')
              ? 'healthy'
              : 'degraded';
        return reply.code(status === 'unhealthy' ? 503 : 200).send({
          status,
          timestamp: new Date(now).toISOString(),
          checks,
          performance: {
            ...performanceReport,
            memory_usage_mb: Math.round((mem.rss / 2 ** 20) * 10) / 10,
            cpu_usage_percent: cpuPercent(),
          },
        });
      },
    );
  };
}
