/** Opening the SQLite file, and turning driver errors into messages a person can act on. */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { TaskerError } from '../../errors.js';

export interface SqliteOptions {
  /** File path, or ':memory:'. */
  path: string;
  /**
   * `full` (default): fsync on every commit, durable across power loss. `normal`: a commit survives a
   * process crash (kill -9) but the last transactions may roll back on power loss.
   */
  synchronous?: 'normal' | 'full';
  /** How long to wait for another process's write lock before failing. @default 5000 */
  busyTimeoutMs?: number;
}

export function openSqlite(options: SqliteOptions): Database.Database {
  const { path } = options;
  if (path !== ':memory:') {
    try {
      mkdirSync(dirname(resolve(path)), { recursive: true });
    } catch (err) {
      throw mapSqliteError(err, path);
    }
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
    // A new file keeps a map of its free pages, so pruning can hand them back to the filesystem a few at a
    // time (sqlite/prune.ts). Only possible before the first table exists; older files keep their mode.
    if (db.pragma('page_count', { simple: true }) === 0) db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    db.pragma('foreign_keys = ON');
    // Probe the file for writing now, so a read-only or locked database fails at start-up, not mid-run.
    db.exec('BEGIN IMMEDIATE; COMMIT;');
    return db;
  } catch (err) {
    db?.close();
    throw mapSqliteError(err, path);
  }
}

export function mapSqliteError(err: unknown, path: string): TaskerError {
  if (err instanceof TaskerError) return err;
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const reason = e.message ?? String(err);
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED') {
    return new TaskerError(
      'DATABASE_LOCKED',
      `SQLite database ${path} is locked by another process (${reason}); stop the other writer or use a different --db`,
      { path, driverCode: code },
      err,
    );
  }
  if (code === 'SQLITE_NOTADB') {
    return new TaskerError(
      'DATABASE_UNAVAILABLE',
      `${path} is not a SQLite database (${reason})`,
      { path, driverCode: code },
      err,
    );
  }
  if (
    code === 'EACCES' ||
    code === 'EROFS' ||
    code === 'ENOTDIR' ||
    code === 'EEXIST' ||
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_READONLY') ||
    code === 'SQLITE_PERM' ||
    code.startsWith('SQLITE_IOERR')
  ) {
    return new TaskerError(
      'DATABASE_UNAVAILABLE',
      `cannot open SQLite database ${path} for writing (${code}: ${reason}); check that the folder exists and is writable, or pass --db sqlite:<other path>`,
      { path, driverCode: code },
      err,
    );
  }
  return new TaskerError(
    'DATABASE_UNAVAILABLE',
    `SQLite database ${path}: ${reason}`,
    { path, driverCode: code },
    err,
  );
}
