/** The PostgreSQL schema's version: applying migrations, reading where it stands, refusing a mismatch. */
import { TaskerError } from '../../errors.js';
import { statusOf } from '../migration.js';
import type { MigrationStatus } from '../port.js';
import { LATEST_POSTGRES_VERSION, POSTGRES_MIGRATIONS } from './migrations.js';
import type { PgPool } from './pool.js';

/** Serialised across processes by an advisory lock, in one transaction. */
export function migratePostgres(db: PgPool): Promise<MigrationStatus> {
  return db.tx(async (c) => {
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tasker.migrate.${db.schema}`]);
    await c.query(`CREATE SCHEMA IF NOT EXISTS "${db.schema}"`);
    await c.query(
      `CREATE TABLE IF NOT EXISTS ${db.t('schema_migrations')} (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`,
    );
    const cur = await c.query<{ v: number | null }>(
      `SELECT MAX(version) AS v FROM ${db.t('schema_migrations')}`,
    );
    const current = cur.rows[0]?.v ?? 0;
    if (current > LATEST_POSTGRES_VERSION) {
      throw new TaskerError(
        'SCHEMA_VERSION_MISMATCH',
        `PostgreSQL schema "${db.schema}" at ${db.location} is at version ${current}, newer than this tasker-engine knows (${LATEST_POSTGRES_VERSION}); upgrade tasker-engine`,
        { schema: db.schema, current, latest: LATEST_POSTGRES_VERSION },
      );
    }
    const applied: number[] = [];
    for (const m of POSTGRES_MIGRATIONS) {
      if (m.version <= current) continue;
      await c.query(m.sql.replaceAll('{schema}', `"${db.schema}"`));
      await c.query(
        `INSERT INTO ${db.t('schema_migrations')} (version, name, applied_at) VALUES ($1, $2, $3)`,
        [m.version, m.name, Date.now()],
      );
      applied.push(m.version);
    }
    return statusOf(Math.max(current, ...applied), POSTGRES_MIGRATIONS, applied);
  });
}

export async function postgresSchemaStatus(db: PgPool): Promise<MigrationStatus> {
  const table = await db.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [
    `"${db.schema}".schema_migrations`,
  ]);
  if (!table.rows[0]?.t) return statusOf(0, POSTGRES_MIGRATIONS, []);
  const cur = await db.query<{ v: number | null }>(
    `SELECT MAX(version) AS v FROM ${db.t('schema_migrations')}`,
    [],
  );
  return statusOf(cur.rows[0]?.v ?? 0, POSTGRES_MIGRATIONS, []);
}

/** Refuse a schema that is missing, behind or ahead, naming what to run. */
export function assertCurrent(db: PgPool, status: MigrationStatus): void {
  if (status.current === status.latest) return;
  const where = `PostgreSQL schema "${db.schema}" at ${db.location}`;
  if (status.current > status.latest) {
    throw new TaskerError(
      'SCHEMA_VERSION_MISMATCH',
      `${where} is at version ${status.current}, newer than this tasker-engine knows (${status.latest}); upgrade tasker-engine`,
      { schema: db.schema, ...status },
    );
  }
  const pending = status.pending.map((m) => `${String(m.version).padStart(3, '0')}_${m.name}`).join(', ');
  throw new TaskerError(
    'SCHEMA_VERSION_MISMATCH',
    `${where} is at version ${status.current}${status.current === 0 ? ' (not installed)' : ''}; this tasker-engine needs ${status.latest}. ` +
      `Apply ${pending} with: tasker db migrate --db <url>${db.schema === 'tasker' ? '' : ` (schema ${db.schema})`}`,
    { schema: db.schema, ...status },
  );
}
