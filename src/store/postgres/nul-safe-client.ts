/**
 * PostgreSQL text cannot hold U+0000, and a parameter carrying one fails the whole statement: a handler
 * whose error message has a NUL byte would never get its attempt recorded. Every client of the store's
 * pool writes such characters as U+FFFD instead (JSON values are handled by `jsonText`).
 */
import pg from 'pg';

function storable(v: unknown): unknown {
  if (typeof v === 'string') return v.includes('\u0000') ? v.replaceAll('\u0000', '\ufffd') : v;
  return Array.isArray(v) ? v.map(storable) : v;
}

// A query config object, not a `pg.Query` (a submittable, which must be passed as it is).
function isPlainObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

export class NulSafeClient extends pg.Client {
  // `pg.Client.query` has a dozen overloads; this forwards all of them, changing only the values.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(config: any, values?: any, callback?: any): any {
    /* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call */
    if (Array.isArray(values)) return super.query(config, values.map(storable), callback);
    if (isPlainObject(config) && Array.isArray(config.values))
      return super.query({ ...config, values: config.values.map(storable) }, values, callback);
    return super.query(config, values, callback);
    /* eslint-enable */
  }
}
