/**
 * Connections and transactions for the PostgreSQL adapter: every query goes through here, so driver
 * errors become coded TaskerErrors and a connection the server broke never returns to the pool.
 */
import type pg from 'pg';
import { TaskerError } from '../../errors.js';
import { mapPostgresError } from './connect.js';
import { statements, type Statements } from './sql.js';

export type Client = pg.PoolClient;

const MAX_NAMED = 64;

export class PgPool {
  /** A table of this store's schema. */
  readonly t: (table: string) => string;
  readonly sql: Statements;

  constructor(
    readonly pool: pg.Pool,
    readonly location: string,
    readonly schema: string,
  ) {
    this.t = (table) => `"${schema}".${table}`;
    this.sql = statements(this.t);
  }

  private readonly names = new Map<string, string>();

  /**
   * A named statement: each connection parses and plans it once, then only binds and executes it. For
   * the statements a cycle sends every time (a cycle's write is kilobytes of text with some twenty casts).
   * Their text is fixed per store, so the names stay few; past MAX_NAMED a text goes unnamed.
   */
  prepared(text: string, values: unknown[]): pg.QueryConfig {
    let name = this.names.get(text);
    if (name === undefined && this.names.size < MAX_NAMED) {
      name = `tasker_${this.names.size}`;
      this.names.set(text, name);
    }
    return name === undefined ? { text, values } : { name, text, values };
  }

  async query<R extends pg.QueryResultRow>(sql: string, args: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, args);
    } catch (err) {
      throw mapPostgresError(err, this.location);
    }
  }

  /** One transaction on one pooled connection; a broken connection is discarded, not returned to the pool. */
  tx<T>(fn: (c: Client) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    return this.withClient(async (c, broken) => {
      try {
        await c.query(begin);
        const out = await fn(c);
        await c.query('COMMIT');
        return out;
      } catch (err) {
        try {
          await c.query('ROLLBACK');
        } catch (rollbackErr) {
          broken(rollbackErr as Error);
        }
        throw err;
      }
    });
  }

  /**
   * Run `fn` while this process holds the session advisory lock named `key` (on a connection of its own;
   * `fn` queries on others). Another process holding it: `fn` does not run. A lost connection ends the
   * lock with the session, so a process that dies never leaves it held.
   */
  async exclusive<T>(key: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    return this.withClient(async (c) => {
      const got = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key]);
      if (got.rows[0]?.ok !== true) return { ran: false };
      try {
        return { ran: true, value: await fn() };
      } finally {
        await c.query('SELECT pg_advisory_unlock(hashtext($1))', [key]);
      }
    });
  }

  /**
   * A read whose partial index (steps_ready, steps_lease) holds the few rows it wants. On a young or
   * freshly loaded table without statistics the planner guesses a sequential scan of every step (70 ms at
   * 500,000 steps, measured); forbidding it inside a read-only transaction keeps these reads proportional
   * to what they count. Sent as one simple-protocol text, so it is one round trip instead of four (BEGIN,
   * SET, the read, COMMIT); its values are therefore inlined, rendered by `literal`.
   */
  async indexedRead<R extends pg.QueryResultRow>(sql: string): Promise<pg.QueryResult<R>> {
    const results = (await this.simple(
      `BEGIN READ ONLY; SET LOCAL enable_seqscan = off; ${sql}; COMMIT`,
    )) as Array<pg.QueryResult<R>>;
    const read = results[2];
    if (!read)
      throw new TaskerError('INTERNAL', `PostgreSQL (${this.location}) answered no result for a read`);
    return read;
  }

  /**
   * A multi-statement text query (no parameters). A failure can leave the connection inside the
   * transaction the text opened, so a failed connection is destroyed, never returned to the pool.
   */
  simple(sql: string): Promise<unknown> {
    return this.withClient(async (c, broken) => {
      try {
        return (await c.query(sql)) as unknown;
      } catch (err) {
        broken(err as Error);
        throw err;
      }
    });
  }

  /**
   * A pooled connection for `fn`. A checked-out connection the server kills (restart,
   * pg_terminate_backend) reports it as an 'error' event; unheard, that event would crash the process.
   * It is noted, and a connection noted broken (by that event or by `fn`) is dropped, not pooled again.
   */
  private async withClient<T>(fn: (c: Client, broken: (err: Error) => void) => Promise<T>): Promise<T> {
    let client: Client;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw mapPostgresError(err, this.location);
    }
    let failure: Error | undefined;
    const broken = (err: Error) => {
      failure = err;
    };
    client.on('error', broken);
    try {
      return await fn(client, broken);
    } catch (err) {
      throw err instanceof TaskerError ? err : mapPostgresError(err, this.location);
    } finally {
      client.off('error', broken);
      client.release(failure);
    }
  }
}
