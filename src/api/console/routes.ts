/**
 * Serves the web console at `<prefix>/ui/`: built files by exact path (no file-system lookups per request,
 * so no path can escape), index.html for every other path under /ui (client-side routes), and a strict
 * Content-Security-Policy: the console runs only its own scripts and styles and talks only to this origin.
 * The files carry no data; every figure the console shows comes from the authenticated API.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { packageInfo } from '../../package-root.js';
import { loadConsoleBundle, renderIndex, type ConsoleAsset } from './assets.js';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface ConsoleRouteOptions {
  /** Where the built console lives. @default the package's dist/console */
  dir?: string | undefined;
}

export function consoleRoutes(opts: ConsoleRouteOptions = {}): FastifyPluginAsync {
  return async (app) => {
    const bundle = loadConsoleBundle(opts.dir);
    const prefix = app.prefix;
    const index = bundle.indexTemplate
      ? renderIndex(bundle.indexTemplate, {
          api: prefix,
          version: packageInfo().version,
        })
      : null;

    const send = (req: FastifyRequest, reply: FastifyReply, asset: ConsoleAsset) => {
      void reply
        .header('content-security-policy', CONSOLE_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('x-frame-options', 'DENY')
        .header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
        .header('etag', asset.etag)
        .header('vary', 'accept-encoding')
        .type(asset.type);
      if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
      const gzip = asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      if (gzip) void reply.header('content-encoding', 'gzip');
      return reply.send(gzip ? asset.gzip : asset.body);
    };

    const config = { scope: null } as const;
    const schema = { hide: true } as const;
    app.get('/ui', { config, schema }, async (_req, reply) => reply.redirect(`${prefix}/ui/`, 302));
    app.get<{ Params: { '*': string } }>('/ui/*', { config, schema }, async (req, reply) => {
      if (!index) {
        return reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send(
            'The Tasker console is not built in this copy of tasker-engine: run `npm run build` in its folder.\n',
          );
      }
      const path = req.params['*'];
      const file = bundle.files.get(path);
      if (file) return send(req, reply, file);
      // A missing hashed asset is a stale page after an upgrade, not a client route: say so plainly.
      if (path.startsWith('assets/'))
        return reply.code(404).type('text/plain; charset=utf-8').send('not found\n');
      return send(req, reply, index);
    });
  };
}
