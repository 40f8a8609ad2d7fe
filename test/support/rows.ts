/** Every row of every table of a test database, to prove an operation wrote nothing. */
import Database from 'better-sqlite3';
import pg from 'pg';

export async function dumpRows(database: string): Promise<Record<string, unknown[]>> {
  if (database.startsWith('sqlite:')) {
    const db = new Database(database.slice('sqlite:'.length), { readonly: true });
    try {
      const tables = db
        .prepare(
          `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
        )
        .pluck()
        .all() as string[];
      return Object.fromEntries(
        tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}" ORDER BY 1, 2`).all()]),
      );
    } finally {
      db.close();
    }
  }
  const url = new URL(database);
  const schema = url.searchParams.get('schema') ?? 'public';
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const tables = (
      await client.query<{ t: string }>(
        `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
        [schema],
      )
    ).rows.map((r) => r.t);
    const out: Record<string, unknown[]> = {};
    for (const t of tables)
      out[t] = (await client.query(`SELECT * FROM "${schema}"."${t}" ORDER BY 1, 2`)).rows;
    return out;
  } finally {
    await client.end();
  }
}
