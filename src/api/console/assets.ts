/**
 * The built console (dist/console, shipped in the package) held in memory: read once when the API is
 * mounted, gzipped once, served with strong caching for hashed assets. index.html is rendered per mount
 * with a <base href> for wherever the API lives and the console's settings, so one build serves any prefix.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { packageInfo } from '../../package-root.js';

export interface ConsoleAsset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  etag: string;
  /** Hashed file names never change content: cache them for a year. */
  immutable: boolean;
}

export interface ConsoleBundle {
  /** By path relative to the console's root, `/`-separated (`assets/index-abc.js`). */
  files: ReadonlyMap<string, ConsoleAsset>;
  /** index.html as built, with the `<!-- tasker:config -->` placeholder. */
  indexTemplate: string | null;
  dir: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt']);

let cached: ConsoleBundle | undefined;

/** The console's files, or an empty bundle when the console was not built (an API-only checkout). */
export function loadConsoleBundle(dir = join(packageInfo().root, 'dist', 'console')): ConsoleBundle {
  if (cached?.dir === dir) return cached;
  const files = new Map<string, ConsoleAsset>();
  let indexTemplate: string | null = null;
  if (existsSync(dir)) {
    for (const path of walk(dir)) {
      const rel = relative(dir, path).split(sep).join('/');
      const body = readFileSync(path);
      if (rel === 'index.html') {
        indexTemplate = body.toString('utf8');
        continue;
      }
      const ext = extname(path);
      files.set(rel, {
        body,
        gzip: COMPRESSIBLE.has(ext) && body.length > 1024 ? gzipSync(body, { level: 9 }) : null,
        type: TYPES[ext] ?? 'application/octet-stream',
        etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 22)}"`,
        immutable: rel.startsWith('assets/'),
      });
    }
  }
  return (cached = { files, indexTemplate, dir });
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

export interface ConsolePageSettings {
  /** Where the API is mounted, e.g. `/tasker`. */
  api: string;
  version: string;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** index.html for one mount: the base for relative asset URLs and the settings the console reads. */
export function renderIndex(template: string, s: ConsolePageSettings): ConsoleAsset {
  // Nothing here needs a token to read: settings for signed-in users (the trace link) come from /whoami.
  const config = JSON.stringify({ api: s.api, version: s.version });
  const head =
    `<base href="${escapeHtml(`${s.api}/ui/`)}">\n` +
    `    <meta name="tasker-config" content="${escapeHtml(config)}">`;
  const body = Buffer.from(template.replace('<!-- tasker:config -->', head), 'utf8');
  return {
    body,
    gzip: gzipSync(body, { level: 9 }),
    type: TYPES['.html'] ?? 'text/html',
    etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 22)}"`,
    immutable: false,
  };
}
