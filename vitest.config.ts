/**
 * Two projects: `sqlite` runs every test file; `postgres` runs the behavioural suites again against
 * PostgreSQL (TASKER_TEST_STORE=postgres). The postgres project is included when the server answers; when
 * it does not, it is left out with a notice, unless TASKER_REQUIRE_PG=1 (CI), which makes that an error.
 */
import pg from 'pg';
import { defineConfig } from 'vitest/config';

const PG_URL = process.env.TASKER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The suites whose behaviour must be identical on both stores. */
const BEHAVIOURAL = [
  'test/execution.test.ts',
  'test/operations.test.ts',
  'test/events.test.ts',
  'test/library.test.ts',
  'test/edge-cases.test.ts',
  'test/api.test.ts',
  'test/api-hardening.test.ts',
  'test/triage.test.ts',
  'test/triage-api.test.ts',
  'test/bulk-crash.test.ts',
  'test/metrics.test.ts',
  'test/console-api.test.ts',
  'test/live-remote.test.ts',
  'test/browser/live.test.ts',
  'test/browser/triage.test.ts',
  'test/store-contract.test.ts',
  'test/retention.test.ts',
  'test/analytics.test.ts',
];
/** PostgreSQL-only tests (races, LISTEN/NOTIFY, lost connections). */
const POSTGRES_ONLY = ['test/postgres.test.ts'];

async function postgresReachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

export default defineConfig(async () => {
  const problem =
    process.env.TASKER_TEST_STORE === 'sqlite'
      ? 'skipped by TASKER_TEST_STORE=sqlite'
      : await postgresReachable();
  if (problem && process.env.TASKER_REQUIRE_PG === '1') {
    throw new Error(
      `TASKER_REQUIRE_PG=1 but PostgreSQL at ${PG_URL.replace(/\/\/[^@]*@/, '//')} is unreachable: ${problem}`,
    );
  }
  if (problem) console.warn(`[tasker tests] PostgreSQL project left out (${problem})`);
  const common = { testTimeout: 30_000, hookTimeout: 30_000, pool: 'forks' as const };
  return {
    test: {
      projects: [
        {
          test: {
            ...common,
            name: 'sqlite',
            include: ['test/**/*.test.ts', 'console/test/**/*.test.ts'],
            exclude: POSTGRES_ONLY,
            env: { TASKER_TEST_STORE: 'sqlite' },
          },
        },
        ...(problem
          ? []
          : [
              {
                test: {
                  ...common,
                  name: 'postgres',
                  include: [...BEHAVIOURAL, ...POSTGRES_ONLY],
                  env: { TASKER_TEST_STORE: 'postgres' },
                },
              },
            ]),
      ],
    },
  };
});
