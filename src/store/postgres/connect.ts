/** Connecting to PostgreSQL, and turning driver errors into messages a person can act on. */
import pg from 'pg';
import { TaskerError } from '../../errors.js';

export interface PostgresOptions {
  /** postgres://user:password@host:port/database[?schema=name] */
  url: string;
  /** All objects live in this schema. @default 'tasker' (or the URL's ?schema=) */
  schema?: string | undefined;
  /** Pool size. @default 10 */
  maxConnections?: number | undefined;
}

export interface ResolvedPostgres {
  config: pg.PoolConfig;
  schema: string;
  /** host:port/database, for messages (no credentials). */
  location: string;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/** bigint columns hold epoch milliseconds and step ids: safe as JS numbers (pg returns strings by default). */
function typeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (oid === 20) return (v: string) => Number(v);
  return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
}

export function resolvePostgres(options: PostgresOptions): ResolvedPostgres {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new TaskerError(
      'CONFIG_INVALID',
      `database: "${redact(options.url)}" is not a valid postgres:// URL`,
      {
        field: 'database',
      },
    );
  }
  const schema = options.schema ?? url.searchParams.get('schema') ?? 'tasker';
  if (!IDENT.test(schema)) {
    throw new TaskerError(
      'CONFIG_INVALID',
      `schema: "${schema}" is not a plain lower-case identifier ([a-z_][a-z0-9_]*, at most 63 characters)`,
      { field: 'schema' },
    );
  }
  url.searchParams.delete('schema');
  const location = `${url.hostname || 'localhost'}:${url.port || '5432'}${url.pathname}`;
  return {
    schema,
    location,
    config: {
      connectionString: url.toString(),
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: 5_000,
      // Index lookups costed as on SSD-backed, cached storage. The engine's reads look up the recent
      // past's rows by key; at the default 4 (spinning disks) PostgreSQL scanned all 1,000,000 tasks for
      // an hour's failure groups (1.1 s; 0.22 s at 1.1) and walked the primary key past every pending
      // task for a page of completed ones (docs/scaling.md). No JIT: compiling a report's expressions
      // took 30-60 ms of the stuck-task read's 100 and saved nothing after (measured at 1,000,000 tasks).
      // An `options` parameter in the URL wins.
      options: '-c random_page_cost=1.1 -c jit=off',
      types: { getTypeParser: typeParser as typeof pg.types.getTypeParser },
    },
  };
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EPIPE',
]);

export function mapPostgresError(err: unknown, location: string): TaskerError {
  if (err instanceof TaskerError) return err;
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const reason = e.message ?? String(err);
  if (
    CONNECTION_CODES.has(code) ||
    code.startsWith('08') ||
    code === '57P01' ||
    code === '57P03' ||
    /timeout|terminat|Connection/i.test(reason)
  ) {
    return new TaskerError(
      'DATABASE_UNAVAILABLE',
      `cannot reach PostgreSQL at ${location} (${code || 'connection error'}: ${reason}); is the server running and the URL right?`,
      { location, driverCode: code },
      err,
    );
  }
  if (code === '3D000' || code === '28P01' || code === '28000') {
    return new TaskerError(
      'DATABASE_UNAVAILABLE',
      `PostgreSQL at ${location} refused the connection: ${reason}`,
      { location, driverCode: code },
      err,
    );
  }
  return new TaskerError(
    'DATABASE_UNAVAILABLE',
    `PostgreSQL at ${location}: ${reason} (${code})`,
    { location, driverCode: code },
    err,
  );
}
