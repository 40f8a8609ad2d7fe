/**
 * `tasker serve`: a Fastify server of its own with the API (and the console) at /tasker. Refuses to listen
 * beyond loopback without tokens unless told that is intended: an open API would let anyone cancel tasks
 * or read contexts. The same app, never listening, backs the plain Node handler (node-handler.ts).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { collectDefaultMetrics } from 'prom-client';
import { TaskerError } from '../errors.js';
import type { Tasker } from '../tasker.js';
import { compileConsole } from '../config/console.js';
import { DEFAULT_METRICS_ENDPOINT } from '../config/telemetry.js';
import { toApiError } from './errors.js';
import { correlationFrom } from './params.js';
import { taskerPlugin, type ApiOptions } from './plugin.js';

export interface ServerOptions extends ApiOptions {
  /** @default '127.0.0.1' */
  host?: string | undefined;
  /** @default 3000 */
  port?: number | undefined;
  /** Serve without tokens on a non-loopback address. @default false */
  allowUnauthenticated?: boolean | undefined;
  /** Where the API is mounted. @default '/tasker' */
  prefix?: string | undefined;
  /** Add Node process metrics (CPU, memory, event loop lag) to the tasker's registry. @default true */
  processMetrics?: boolean | undefined;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function buildServer(tasker: Tasker, opts: ServerOptions = {}): Promise<FastifyInstance> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host) && (opts.tokens ?? []).length === 0 && !opts.allowUnauthenticated) {
    throw new TaskerError(
      'CONFIG_INVALID',
      `refusing to serve on ${host} without API tokens: configure auth.tokens (or TASKER_API_TOKENS), ` +
        'or pass --allow-unauthenticated if this network is trusted',
      { host },
    );
  }
  return buildApp(tasker, opts);
}

/** The API (and console) as a Fastify app of its own, not listening: for serve() and the Node handler. */
export async function buildApp(tasker: Tasker, opts: ServerOptions = {}): Promise<FastifyInstance> {
  const prefix = opts.prefix ?? '/tasker';
  const endpoint = tasker.settings.metricsEndpoint;
  // The default endpoint follows the API wherever it is mounted (<prefix>/metrics); a configured one must
  // lie directly under it.
  const moved = endpoint === DEFAULT_METRICS_ENDPOINT && prefix !== '/tasker';
  if (!moved && (!endpoint.startsWith(`${prefix}/`) || endpoint.slice(prefix.length).includes('/', 1))) {
    throw new TaskerError(
      'CONFIG_INVALID',
      `telemetry.metrics_endpoint: expected a path directly under the API's ${prefix}/ (e.g. ${prefix}/metrics), got "${endpoint}"`,
      { field: 'telemetry.metrics_endpoint', value: endpoint },
    );
  }
  const correlationHeader = tasker.settings.correlationIdHeader.toLowerCase();
  if (
    opts.processMetrics !== false &&
    tasker.metrics.getSingleMetric('process_cpu_seconds_total') === undefined
  )
    collectDefaultMetrics({ register: tasker.metrics });
  // Typed as Fastify's logger so the instance keeps Fastify's default logger type parameter.
  const logger: FastifyBaseLogger = tasker.logger.child({ component: 'api' });
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    // Long path segments reach the route schemas (and get their 400) instead of the router's bare 414.
    routerOptions: { maxParamLength: 16_384 },
    // The router's own errors (malformed percent-encoding) answer in the API's format too.
    frameworkErrors: (err, req, reply) => {
      const { status, body } = toApiError(err);
      void (reply as FastifyReply)
        .code(status)
        .header(correlationHeader, correlationFrom(req.headers[correlationHeader]).id)
        .send(body);
    },
    // Request ids are ours (correlation ids); Fastify's counter would only add a second, unrelated id.
    genReqId: () => '',
  });
  // Per-request lines at info would drown the engine's own logs (failures are logged by the error handler);
  // a quieter engine logger stays quieter.
  const quieter = ['error', 'fatal', 'silent'] as const;
  const quiet = quieter.find((l) => l === tasker.logger.level) ?? 'warn';
  await app.register(taskerPlugin(tasker), { ...opts, prefix, logLevel: quiet });
  app.setNotFoundHandler(async (req, reply) =>
    reply
      .code(404)
      .header(correlationHeader, correlationFrom(req.headers[correlationHeader]).id)
      .send({ error: 'ROUTE_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0] ?? ''}` }),
  );
  return app;
}

/** Build and listen; resolves with the server and the URL it answers on. */
export async function serve(
  tasker: Tasker,
  opts: ServerOptions = {},
): Promise<{ app: FastifyInstance; url: string; consoleUrl: string | null }> {
  const app = await buildServer(tasker, opts);
  const host = opts.host ?? '127.0.0.1';
  try {
    await app.listen({ host, port: opts.port ?? 3000 });
  } catch (err) {
    await app.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new TaskerError(
      'CONFIG_INVALID',
      `cannot listen on ${host}:${opts.port ?? 3000}: ${code === 'EADDRINUSE' ? 'the port is in use' : String((err as Error).message)}`,
      { host, port: opts.port },
    );
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 3000);
  const shown = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shown}:${port}${opts.prefix ?? '/tasker'}`;
  return { app, url, consoleUrl: compileConsole(opts.console).enabled ? `${url}/ui/` : null };
}
