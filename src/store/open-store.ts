/** Opens the store a compiled `database` option names: the one place that knows both adapters. */
import type { ResolvedOptions } from '../config/options.js';
import type { TaskStore } from './port.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

export interface OpenStoreOptions {
  /** PostgreSQL: apply pending migrations (SQLite always does). */
  migrate: boolean;
  /** PostgreSQL: refuse a schema that is not at the version this engine needs. @default true */
  checkSchema?: boolean;
  postgresSchema?: string | undefined;
}

export async function openStore(opts: ResolvedOptions, how: OpenStoreOptions): Promise<TaskStore> {
  if (opts.database.kind === 'postgres') {
    return PostgresStore.open({
      url: opts.database.url,
      schema: how.postgresSchema,
      random: opts.random,
      migrate: how.migrate,
      checkSchema: how.checkSchema ?? true,
    });
  }
  return SqliteStore.open({
    path: opts.database.path,
    synchronous: opts.sqliteSynchronous,
    busyTimeoutMs: opts.sqliteBusyTimeoutMs,
    random: opts.random,
  });
}
