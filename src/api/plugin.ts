/**
 * The HTTP API as a Fastify plugin: `app.register(taskerPlugin(tasker), { prefix: '/tasker' })` mounts it
 * into a host application (as a Rails engine mounts); `tasker serve` mounts it into a server of its own.
 * Hooks, in order: correlation id (validated, echoed on every response), authentication and scope per
 * route, then the route. Errors are JSON with stable codes (errors.ts).
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Ajv } from 'ajv';
import type { Registry } from 'prom-client';
import { TaskerError } from '../errors.js';
import type { Tasker } from '../tasker.js';
import {
  ANONYMOUS_ADMIN,
  hasScope,
  TokenVerifier,
  type ApiToken,
  type Principal,
  type Scope,
} from './auth.js';
import { toApiError } from './errors.js';
import { correlationFrom } from './params.js';
import { buildOpenApi, type RouteDoc } from './openapi.js';
import { compileConsole, type ConsoleOptions, type ResolvedConsole } from '../config/console.js';
import { consoleRoutes } from './console/routes.js';
import { analyticsRoutes } from './routes/analytics.js';
import { throughputRoutes } from './routes/throughput.js';
import { healthRoutes } from './routes/health.js';
import { metaRoutes } from './routes/meta.js';
import { taskRoutes } from './routes/tasks.js';
import { workerRoutes } from './routes/workers.js';
import { streamRoutes } from './routes/stream.js';
import { triageRoutes } from './routes/triage.js';
import { isAudited } from '../triage/audit.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
    correlationId: string;
  }
  interface FastifySchema {
    summary?: string;
    description?: string;
    /** Left out of the OpenAPI document. */
    hide?: boolean;
    /** Success codes other than 200 the route answers with, and when (documentation only). */
    statuses?: Record<number, string>;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; null: open (liveness/readiness). */
    scope?: Scope | null;
    /** An operator action: a refusal (scope, input, namespace) is written to the audit log as such. */
    audit?: string;
  }
}

export interface ApiOptions {
  /** Accepted bearer tokens (SHA-256 digests). None: every request is allowed (keep such a server on loopback). */
  tokens?: readonly ApiToken[] | undefined;
  /** Whether GET /metrics needs a token with `metrics:read`. @default false (Prometheus scrapes it) */
  metricsRequireAuth?: boolean | undefined;
  /** Largest accepted request body in bytes. @default 1 MiB */
  bodyLimit?: number | undefined;
  /** Request header carrying the caller's correlation id. @default telemetry.correlation_id_header */
  correlationIdHeader?: string | undefined;
  /** Prometheus registry served at /metrics. @default the tasker's */
  registry?: Registry | undefined;
  /** The web console at `<prefix>/ui/` (false: not served). @default true */
  console?: boolean | ConsoleOptions | undefined;
  /** @internal tests: the live stream's keep-alive and stall timing (ms). */
  streamTiming?: { heartbeatMs?: number; stallMs?: number } | undefined;
}

export interface ApiContext {
  tasker: Tasker;
  options: ApiOptions;
  console: ResolvedConsole;
  /** Whether requests need a bearer token (tokens are configured). */
  authRequired: boolean;
  /** The correlation-id header, lower case (echoed on every response). */
  correlationHeader: string;
}

export function taskerPlugin(tasker: Tasker): FastifyPluginAsync<ApiOptions> {
  return async (app: FastifyInstance, options: ApiOptions) => {
    // Serving /metrics means someone will scrape them: count from now on (see Tasker.enableMetrics).
    if (!options.registry) tasker.enableMetrics();
    const consoleSettings = compileConsole(options.console);
    const verifier = new TokenVerifier(options.tokens ?? []);
    const header = (options.correlationIdHeader ?? tasker.settings.correlationIdHeader).toLowerCase();
    const docs: RouteDoc[] = [];
    const prefix = app.prefix;

    // Bodies are JSON only: text/plain would otherwise reach the routes as a string (415 instead).
    app.removeContentTypeParser('text/plain');
    app.decorateRequest('principal', null as unknown as Principal);
    app.decorateRequest('correlationId', '');

    // Our own validator, so the API behaves the same mounted in any host app: unknown parameters are
    // errors (Fastify's default silently drops them), a single ?status=x is a one-element list.
    const ajv = new Ajv({
      removeAdditional: false,
      coerceTypes: 'array',
      useDefaults: true,
      allErrors: true,
      strict: false,
    });
    app.setValidatorCompiler(({ schema }) => ajv.compile(schema));

    app.addHook('onRoute', (route) => {
      route.bodyLimit ??= options.bodyLimit ?? 1024 * 1024;
      docs.push({ method: route.method, url: route.url, schema: route.schema, scope: route.config?.scope });
    });

    app.addHook('onRequest', async (req, reply) => {
      const { id, replaced } = correlationFrom(req.headers[header]);
      req.correlationId = id;
      if (replaced !== null) {
        req.log.warn(
          { given: replaced.slice(0, 120), correlation_id: id },
          `invalid ${header} header replaced (expected [A-Za-z0-9][A-Za-z0-9_-]*, at most 100 characters)`,
        );
      }
      void reply.header(header, req.correlationId);
      req.principal = ANONYMOUS_ADMIN;
      const scope = req.routeOptions.config.scope;
      if (scope === null) return;
      if (scope === 'metrics:read' && !options.metricsRequireAuth) return;
      req.principal = authenticate(req, verifier);
      // Unknown routes have no scope: they are authenticated, then answered 404 by the not-found handler.
      if (scope !== undefined && !hasScope(req.principal, scope)) {
        throw new TaskerError('FORBIDDEN', `token "${req.principal.name}" lacks the ${scope} scope`, {
          scope,
        });
      }
    });

    // A refused operator action is audited: who tried what, and the error they got. The engine audits its
    // own refusals (illegal transitions); this covers what the API refuses before reaching it. A request
    // without a valid token is not: its actor is unknown, and anyone could fill the log with them.
    app.addHook('onError', async (req, _reply, err) => {
      const action = req.routeOptions.config.audit;
      if (action === undefined || isAudited(err)) return;
      const { status, body: answer } = toApiError(err);
      if (status === 401 || status >= 500) return;
      const body: { reason?: unknown; action?: unknown; filter?: unknown } | null =
        req.body !== null && typeof req.body === 'object' ? req.body : null;
      const params = req.params as { id?: string } | undefined;
      const bulkAction = typeof body?.action === 'string' ? body.action : 'unknown';
      await tasker.recordRefusal(action === 'bulk' ? `bulk.${bulkAction}` : action, answer, {
        actor: req.principal.name,
        reason: typeof body?.reason === 'string' ? body.reason.slice(0, 2000) : null,
        taskIds:
          action.startsWith('task.') || action.startsWith('step.') ? [params?.id ?? ''].filter(Boolean) : [],
        filter:
          action === 'bulk' && body?.filter && typeof body.filter === 'object'
            ? (body.filter as Record<string, unknown>)
            : null,
      });
    });

    app.setErrorHandler(async (err, req, reply) => {
      const { status, body } = toApiError(err);
      if (status >= 500) req.log.error({ err, correlation_id: req.correlationId }, 'request failed');
      if (status === 401) void reply.header('www-authenticate', 'Bearer');
      return reply.code(status).send(body);
    });

    app.setNotFoundHandler(async (req, reply) => {
      return reply.code(404).send({
        error: 'ROUTE_NOT_FOUND',
        message: `no route ${req.method} ${req.url.split('?')[0] ?? ''}`,
      });
    });

    const ctx: ApiContext = {
      tasker,
      options,
      console: consoleSettings,
      authRequired: verifier.enabled,
      correlationHeader: header,
    };
    await app.register(healthRoutes(ctx));
    await app.register(taskRoutes(ctx));
    await app.register(analyticsRoutes(ctx));
    await app.register(throughputRoutes(ctx));
    await app.register(metaRoutes(ctx));
    await app.register(workerRoutes(ctx));
    await app.register(streamRoutes(ctx));
    await app.register(triageRoutes(ctx));
    // Bulk jobs left running by a server that stopped are finished by whichever server serves the API.
    tasker.runBulkJobs();
    if (consoleSettings.enabled) await app.register(consoleRoutes());
    app.get('/openapi.json', { config: { scope: null }, schema: { hide: true } }, async () =>
      buildOpenApi(docs, prefix),
    );
  };
}

function authenticate(req: FastifyRequest, verifier: TokenVerifier): Principal {
  if (!verifier.enabled) return ANONYMOUS_ADMIN;
  const auth = req.headers.authorization;
  if (auth === undefined)
    throw new TaskerError('UNAUTHORIZED', 'missing Authorization: Bearer <token> header');
  const p = verifier.verify(auth);
  if (!p) throw new TaskerError('UNAUTHORIZED', 'invalid bearer token');
  return p;
}
