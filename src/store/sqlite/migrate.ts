/** Bringing a SQLite file's schema up to date (every open does), and reading where it stands. */
import type Database from 'better-sqlite3';
import { TaskerError } from '../../errors.js';
import { statusOf } from '../migration.js';
import type { MigrationStatus } from '../port.js';
import { LATEST_SQLITE_VERSION, SQLITE_MIGRATIONS } from './migrations.js';
import { SCHEMA_VERSION } from './sql.js';

export function sqliteSchemaStatus(db: Database.Database): MigrationStatus {
  return statusOf(currentVersion(db), SQLITE_MIGRATIONS, []);
}

function currentVersion(db: Database.Database): number {
  return (db.prepare(SCHEMA_VERSION).get() as { v: number | null }).v ?? 0;
}

export function migrateSqlite(db: Database.Database, path: string): MigrationStatus {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const current = currentVersion(db);
  if (current > LATEST_SQLITE_VERSION) {
    throw new TaskerError(
      'SCHEMA_VERSION_MISMATCH',
      `SQLite database ${path} is at schema version ${current}, newer than this tasker-engine knows (${LATEST_SQLITE_VERSION}); upgrade tasker-engine`,
      { path, current, latest: LATEST_SQLITE_VERSION },
    );
  }
  const applied: number[] = [];
  for (const m of SQLITE_MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        Date.now(),
      );
    }).immediate();
    applied.push(m.version);
  }
  return statusOf(Math.max(current, ...applied), SQLITE_MIGRATIONS, applied);
}
