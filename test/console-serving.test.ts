/**
 * Serving the console: the built page under any prefix with a strict CSP, its settings escaped into the
 * page, hashed assets cached for good and gzipped, client routes answered with the page, the console off
 * when asked; the same API and console as a plain Node handler in a real Express app and in node:http;
 * the `console:` settings from the config file and environment.
 */
import express from 'express';
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../src/api/console/routes.js';
import { buildServer, createNodeHandler } from '../src/fastify.js';
import { compileConsole } from '../src/config/console.js';
import { resolveSettings } from '../src/config/settings.js';
import { packageInfo } from '../src/package-root.js';
import { startEngine, tempDir } from './support/harness.js';

const TEMPLATE = `
namespace: shop
name: order
version: 1.0.0
steps:
  - { name: check, handler: check }
`;
const handlers = { check: () => ({ ok: true }) };
const built = join(packageInfo().root, 'dist', 'console');

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

async function app(options: Parameters<typeof buildServer>[1] = {}) {
  const { tasker } = await startEngine(TEMPLATE, handlers, { start: false });
  const a: FastifyInstance = await buildServer(tasker, { processMetrics: false, ...options });
  closers.push(() => a.close());
  return { tasker, app: a };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(() => r())));
  const addr = server.address();
  return `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}

describe('console serving', () => {
  it('is built into the package (dist/console) with one hashed script and no inline code', () => {
    expect(existsSync(join(built, 'index.html'))).toBe(true);
    const html = readFileSync(join(built, 'index.html'), 'utf8');
    expect(html).toContain('<!-- tasker:config -->');
    expect(html).toMatch(/<script type="module" crossorigin src="\.\/assets\/[\w-]+\.js"><\/script>/);
    // Nothing the CSP would block: no inline scripts or styles, no style attributes.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style="/);
  });

  it('serves the page at <prefix>/ui/ with the CSP, a base for the prefix and escaped settings', async () => {
    const traceUrl = 'https://jaeger.internal/trace/{trace_id}?x="><script>alert(1)</script>';
    const { app: a } = await app({ prefix: '/ops/tasker', console: { traceUrl } });
    const r = await a.inject({ url: '/ops/tasker/ui/' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe');
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.body).toContain('<base href="/ops/tasker/ui/">');
    const meta = /<meta name="tasker-config" content="([^"]*)">/.exec(r.body)?.[1] ?? '';
    const decoded = meta.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
    expect(JSON.parse(decoded)).toEqual({ api: '/ops/tasker', version: packageInfo().version });
    // The trace link (an internal host, often) is not in the open page; signed-in callers get it.
    expect(r.body).not.toContain('jaeger.internal');
    expect((await a.inject({ url: '/ops/tasker/whoami' })).json()).toMatchObject({ trace_url: traceUrl });
    // Client-side routes get the page too; /ui redirects to /ui/.
    const deep = await a.inject({ url: '/ops/tasker/ui/tasks/01a2?status=failed' });
    expect(deep.statusCode).toBe(200);
    expect(deep.body).toContain('tasker-config');
    const bare = await a.inject({ url: '/ops/tasker/ui' });
    expect(bare.statusCode).toBe(302);
    expect(bare.headers.location).toBe('/ops/tasker/ui/');
  });

  it('caches hashed assets for a year, gzips them, answers 304 to a matching etag, 404s unknown ones', async () => {
    const { app: a } = await app();
    const html = (await a.inject({ url: '/tasker/ui/' })).body;
    const script = /src="\.\/(assets\/[\w-]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const plain = await a.inject({ url: `/tasker/ui/${script}` });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.rawPayload.equals(readFileSync(join(built, script ?? '')))).toBe(true);
    const gz = await a.inject({ url: `/tasker/ui/${script}`, headers: { 'accept-encoding': 'gzip, br' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.rawPayload.length).toBeLessThan(plain.rawPayload.length / 2);
    const again = await a.inject({
      url: `/tasker/ui/${script}`,
      headers: { 'if-none-match': String(plain.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    const missing = await a.inject({ url: '/tasker/ui/assets/gone-123.js' });
    expect(missing.statusCode).toBe(404);
    // No path escapes the bundle. (Encoded, the dots reach the route as its parameter: a plain `../` would
    // be resolved by the URL parser before any route saw it.)
    const escape = await a.inject({ url: '/tasker/ui/..%2f..%2f..%2fpackage.json' });
    expect(escape.body).not.toContain('"dependencies"');
  });

  it('needs no token for the page (it holds no data) while the API behind it does', async () => {
    const { app: a } = await app({
      tokens: [{ name: 't', tokenSha256: 'a'.repeat(64), scopes: ['admin'] }],
    });
    expect((await a.inject({ url: '/tasker/ui/' })).statusCode).toBe(200);
    expect((await a.inject({ url: '/tasker/tasks' })).statusCode).toBe(401);
  });

  it('console: false serves no page; bad settings are refused naming the field', async () => {
    const { app: a } = await app({ console: false });
    const r = await a.inject({ url: '/tasker/ui/' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toMatchObject({ error: 'ROUTE_NOT_FOUND' });
    expect(() => compileConsole({ trace_url: 'http://jaeger/trace' })).toThrow(
      /console\.trace_url: expected an http\(s\) URL containing \{trace_id\}, got "http:\/\/jaeger\/trace"/,
    );
    expect(() => compileConsole({ trace_url: 'javascript:alert(1)//{trace_id}' })).toThrow(
      /console\.trace_url/,
    );
    expect(() => compileConsole({ max_streams: 0 })).toThrow(
      /console\.max_streams: expected a positive integer up to 10000/,
    );
    expect(() => compileConsole({ enable: true })).toThrow(
      /console\.enable: unknown setting \(did you mean "enabled"\?\)/,
    );
    expect(() => compileConsole({ enabled: 'yes' })).toThrow(/console\.enabled: expected true or false/);
    expect(compileConsole({ traceUrl: 'https://tempo/{trace_id}', maxStreams: 3, enabled: true })).toEqual({
      enabled: true,
      traceUrl: 'https://tempo/{trace_id}',
      maxStreams: 3,
    });
    expect(() => compileConsole('yes')).toThrow(/console: expected true, false or a mapping/);
  });

  it('reads console: from tasker.config.yaml, TASKER_CONSOLE_TRACE_URL over it, naming a bad file and field', () => {
    const dir = tempDir();
    const file = join(dir, 'tasker.config.yaml');
    writeFileSync(file, 'console:\n  max_streams: 5\n  trace_url: http://tempo/{trace_id}\n');
    const s = resolveSettings({}, { TASKER_CONSOLE_TRACE_URL: 'http://jaeger:16686/trace/{trace_id}' }, dir);
    expect(compileConsole(s.console)).toEqual({
      enabled: true,
      maxStreams: 5,
      traceUrl: 'http://jaeger:16686/trace/{trace_id}',
    });
    // `console: false` stays off when the environment only sets the trace URL.
    writeFileSync(file, 'console: false\n');
    const off = resolveSettings(
      {},
      { TASKER_CONSOLE_TRACE_URL: 'http://jaeger:16686/trace/{trace_id}' },
      dir,
    );
    expect(compileConsole(off.console).enabled).toBe(false);
    writeFileSync(file, 'console:\n  trace_url: 42\n');
    expect(() => resolveSettings({}, {}, dir)).toThrow(
      new RegExp(`${file.replace(/[.]/g, '\\.')}: console\\.trace_url: expected an http\\(s\\) URL`),
    );
  });

  it('mounts as a plain handler in a real Express app, with or without a mount path, next() for the rest', async () => {
    const { tasker } = await app();
    const handler = await createNodeHandler(tasker, { prefix: '/tasker' });
    closers.push(() => handler.close());
    const host = express();
    host.use(handler);
    host.get('/own', (_req, res) => void res.json({ host: true }));
    const mounted = express();
    mounted.use('/tasker', handler);
    const base = await listen(createServer(host));
    const health = await fetch(`${base}/tasker/health/live`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'alive' });
    expect(await (await fetch(`${base}/own`)).json()).toEqual({ host: true });
    const created = await fetch(`${base}/tasker/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ namespace: 'shop', name: 'order', context: { n: 1 } }),
    });
    expect(created.status).toBe(201);
    const page = await fetch(`${base}/tasker/ui/tasks`);
    expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(await page.text()).toContain('<base href="/tasker/ui/">');
    // Express strips "/tasker" from req.url here; the handler reads originalUrl.
    const base2 = await listen(createServer(mounted));
    const list = await fetch(`${base2}/tasker/tasks?limit=1`);
    expect(list.status).toBe(200);
    expect(((await list.json()) as { tasks: unknown[] }).tasks).toHaveLength(1);
  });

  it('in Express behind express.json(): a clear error instead of a request that hangs', async () => {
    const { tasker } = await app();
    const handler = await createNodeHandler(tasker);
    closers.push(() => handler.close());
    const host = express();
    host.use(express.json());
    host.use(handler);
    const base = await listen(createServer(host));
    const r = await fetch(`${base}/tasker/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ namespace: 'shop', name: 'order' }),
    });
    expect(r.status).toBe(500);
    expect(await r.json()).toMatchObject({
      error: 'BODY_ALREADY_READ',
      message: expect.stringContaining('mount it ahead of body-parsing middleware'),
    });
  });

  it('refuses a bad prefix or options with a TaskerError naming them', async () => {
    const { tasker } = await app();
    for (const [opts, pattern] of [
      [{ prefix: 5 }, /prefix: expected a path starting with \/.*got 5/],
      [{ prefix: 'tasker' }, /prefix: expected a path starting with \//],
      [{ prefix: '/' }, /prefix: "\/" would take every route/],
      [null, /createNodeHandler options: expected an object, got null/],
    ] as const) {
      const err = await createNodeHandler(tasker, opts as never).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'TaskerError', code: 'INVALID_ARGUMENT' });
      expect((err as Error).message).toMatch(pattern);
    }
  });

  it('serves node:http directly: 404 JSON outside the prefix without next()', async () => {
    const { tasker } = await app();
    const handler = await createNodeHandler(tasker, { prefix: '/jobs/' });
    closers.push(() => handler.close());
    expect(handler.prefix).toBe('/jobs');
    const base = await listen(createServer(handler));
    expect((await fetch(`${base}/jobs/whoami`)).status).toBe(200);
    expect((await fetch(`${base}/jobs/ui/`)).status).toBe(200);
    const other = await fetch(`${base}/elsewhere`);
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: 'ROUTE_NOT_FOUND' });
  });
});
