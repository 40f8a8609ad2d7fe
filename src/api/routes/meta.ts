/** What this server knows: registered templates (with their DAGs) and the Prometheus exposition. */
import type { FastifyPluginAsync } from 'fastify';
import { seesNamespace, visibleNamespaces } from '../auth.js';
import { NO_QUERY } from '../params.js';
import type { ApiContext } from '../plugin.js';

export function metaRoutes({
  tasker,
  options,
  authRequired,
  console: consoleSettings,
}: ApiContext): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/whoami',
      {
        config: { scope: 'tasks:read' },
        schema: {
          summary: 'The caller: token name, scopes and the namespaces it is limited to',
          querystring: NO_QUERY,
        },
      },
      async (req) => ({
        name: req.principal.name,
        scopes: [...req.principal.scopes],
        namespaces: req.principal.namespaces === null ? null : [...req.principal.namespaces],
        auth_required: authRequired,
        // The console's trace link: often an internal host, so told to callers, not to the open page.
        trace_url: consoleSettings.traceUrl,
      }),
    );

    app.get(
      '/handlers',
      {
        config: { scope: 'tasks:read' },
        schema: {
          querystring: NO_QUERY,
          summary:
            'Registered templates, their versions and DAGs, step settings, and which live workers can run each step',
        },
      },
      async (req) => {
        // A limited caller counts only workers running some handler of its namespaces.
        const live = (await tasker.listWorkers(undefined, visibleNamespaces(req.principal))).filter(
          (w) => w.status === 'live',
        );
        const capable = (handler: string) => live.filter((w) => w.handlers.includes(handler)).length;
        const templates = tasker.catalog.list().filter((t) => seesNamespace(req.principal, t.namespace));
        return {
          live_workers: live.length,
          templates: templates.map((t) => ({
            namespace: t.namespace,
            name: t.name,
            version: t.version,
            full_name: `${t.namespace}.${t.name}@${t.version}`,
            description: t.description ?? null,
            business: t.business
              ? {
                  value_field: t.business.valueField ?? null,
                  tier_field: t.business.tierField ?? null,
                  region_field: t.business.regionField ?? null,
                  customer_field: t.business.customerField ?? null,
                }
              : null,
            sla_seconds: t.slaSeconds ?? null,
            critical: t.critical === true,
            alert_on_failure: t.alertOnFailure ?? null,
            business_metrics: t.businessMetrics ? tasker.redactor.redact(t.businessMetrics) : null,
            steps: t.steps.map((s) => ({
              name: s.name,
              handler: s.handler,
              // This process has it (an API-only process has none: see live_workers).
              handler_registered: tasker.catalog.hasHandler(s.handler),
              live_workers: capable(s.handler),
              depends_on: s.dependsOn,
              timeout_seconds: s.timeoutSeconds ?? null,
              sla_seconds: tasker.catalog.stepSlaSeconds(s),
              max_attempts: s.retry.maxAttempts,
              retryable: s.retry.retryable,
              retry: {
                max_attempts: s.retry.maxAttempts,
                retryable: s.retry.retryable,
                backoff: {
                  base_seconds: s.retry.backoff.baseSeconds,
                  multiplier: s.retry.backoff.multiplier,
                  max_seconds: s.retry.backoff.maxSeconds,
                  jitter: s.retry.backoff.jitter,
                },
              },
            })),
          })),
        };
      },
    );

    // telemetry.metrics_endpoint: served under the API's prefix (checked in buildServer).
    const prefix = app.prefix;
    const endpoint = tasker.settings.metricsEndpoint;
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
