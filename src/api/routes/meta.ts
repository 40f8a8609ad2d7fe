/** What this server knows: registered templates (with their DAGs) and the Prometheus exposition. */
import type { FastifyPluginAsync } from 'fastify';
import { seesNamespace } from '../auth.js';
import type { ApiContext } from '../plugin.js';

export function metaRoutes({ tasker, options }: ApiContext): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/handlers',
      {
        config: { scope: 'tasks:read' },
        schema: { summary: 'Registered templates, their versions and DAGs' },
      },
      async (req) => ({
        templates: tasker.templates
          .list()
          .filter((t) => seesNamespace(req.principal, t.namespace))
          .map((t) => ({
            namespace: t.namespace,
            name: t.name,
            version: t.version,
            full_name: `${t.namespace}.${t.name}@${t.version}`,
            description: t.description ?? null,
            business: t.business ?? null,
            steps: t.steps.map((s) => ({
              name: s.name,
              handler: s.handler,
              handler_registered: tasker.handlers.has(s.handler),
              depends_on: s.dependsOn,
              timeout_seconds: s.timeoutSeconds ?? null,
              max_attempts: s.retry.maxAttempts,
              retryable: s.retry.retryable,
            })),
          })),
      }),
    );

    // telemetry.metrics_endpoint: served under the API's prefix (checked in buildServer).
    const prefix = app.prefix;
    const endpoint = tasker.telemetry.metricsEndpoint;
    const metricsPath = endpoint.startsWith(`${prefix}/`) ? endpoint.slice(prefix.length) : '/metrics';
    app.get(
      metricsPath,
      {
        config: { scope: 'metrics:read' },
        schema: { summary: 'Prometheus text exposition of the engine’s metrics' },
      },
      async (_req, reply) => {
        const registry = options.registry ?? tasker.metrics;
        return reply.type(registry.contentType).send(await registry.metrics());
      },
    );
  };
}
