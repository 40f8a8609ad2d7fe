/**
 * The API and console as a plain Node `(req, res, next?)` handler, for hosts that are not Fastify:
 * Express (`app.use(handler)`), Koa, NestJS, or `node:http` itself. It runs the same Fastify app as
 * `tasker serve` (routes, auth, errors, console), just without listening: requests under the prefix are
 * routed into it, anything else goes to `next` (or gets a 404 when there is none).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TaskerError } from '../errors.js';
import type { Tasker } from '../tasker.js';
import { buildApp, type ServerOptions } from './server.js';

export type HandlerOptions = Omit<ServerOptions, 'host' | 'port' | 'allowUnauthenticated'>;

export interface NodeHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
  /** The path everything is served under, e.g. `/tasker`. */
  readonly prefix: string;
  /** Stop the app behind the handler (open live-update streams end). */
  close(): Promise<void>;
}

/**
 * The API and console as a plain Node `(req, res, next?)` handler for Express, Koa, NestJS or node:http:
 * `app.use(await createNodeHandler(tasker, { prefix: '/tasker' }))`. Mount it before body-parsing middleware.
 */
export async function createNodeHandler(tasker: Tasker, opts: HandlerOptions = {}): Promise<NodeHandler> {
  if (tasker.isClosed) throw new TaskerError('ENGINE_STOPPED', 'this Tasker has been closed');
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts))
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `createNodeHandler options: expected an object, got ${JSON.stringify(opts)}`,
      {
        field: 'options',
      },
    );
  const given: unknown = opts.prefix ?? '/tasker';
  if (typeof given !== 'string' || !/^\/[A-Za-z0-9._~\-/]*$/.test(given))
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `prefix: expected a path starting with / (letters, digits, . _ ~ - /), got ${JSON.stringify(given)}`,
      { field: 'prefix', value: given },
    );
  const prefix = given.replace(/\/+$/, '');
  if (prefix === '')
    throw new TaskerError(
      'INVALID_ARGUMENT',
      'prefix: "/" would take every route of the host app; mount under a path such as /tasker',
      {
        field: 'prefix',
        value: given,
      },
    );
  const app = await buildApp(tasker, { ...opts, prefix });
  await app.ready();
  const handler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void => {
    // Express strips its mount path from req.url; originalUrl keeps the whole path the routes expect.
    const original = (req as { originalUrl?: unknown }).originalUrl;
    const url = typeof original === 'string' ? original : (req.url ?? '/');
    const path = url.split('?')[0] ?? '/';
    if (path !== prefix && !path.startsWith(`${prefix}/`)) {
      if (next) return next();
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ error: 'ROUTE_NOT_FOUND', message: `no route ${req.method ?? ''} ${path}` }));
      return;
    }
    // A body parser mounted earlier has read the stream already; the API would wait for it for ever.
    if ((req as { body?: unknown }).body !== undefined && req.readableEnded) {
      res.statusCode = 500;
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(
        JSON.stringify({
          error: 'BODY_ALREADY_READ',
          message: `the request body was consumed before tasker's handler: mount it ahead of body-parsing middleware (e.g. express.json())`,
        }),
      );
      return;
    }
    req.url = url;
    app.routing(req, res);
  };
  return Object.assign(handler, { prefix, close: () => app.close() });
}
