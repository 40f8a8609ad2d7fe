/** The PostgreSQL side of the analytics reads (store/analytics-sql.ts): each report's two reads in one snapshot. */
import type pg from 'pg';
import * as a from '../analytics-sql.js';
import type * as port from '../port.js';
import type { PgPool } from './pool.js';

const SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

/**
 * For this transaction only, index lookups costed as on SSD-backed, cached storage (random_page_cost at
 * most 1.1; a lower setting of the server's is kept). These reads look up the recent past's rows by key;
 * at the default 4 (spinning disks) PostgreSQL scanned all 1,000,000 tasks instead: the failure groups of
 * an hour took 1.1 s, 0.22 s with it (docs/scaling.md).
 */
export const PLANNER = `SELECT set_config('random_page_cost',
  LEAST(current_setting('random_page_cost')::float8, 1.1)::text, true)`;

export class PgAnalytics {
  private readonly dialect: a.AnalyticsDialect;

  constructor(private readonly db: PgPool) {
    this.dialect = { param: (n) => `$${n}`, table: db.t, uuidCast: '::uuid' };
  }

  impactGroups(q: port.AnalyticsQuery): ReturnType<port.TaskStore['impactGroups']> {
    return this.db.tx(async (c) => {
      const all = async <R extends pg.QueryResultRow>(s: a.AnalyticsSql) =>
        (await c.query<R>(s.sql, s.args)).rows;
      await c.query(PLANNER);
      const groups = await all<a.ImpactGroupRow>(a.impactGroupsSql(this.dialect, q));
      const customers = await all<{ named: string; anonymous: string | null }>(
        a.impactCustomersSql(this.dialect, q),
      );
      return a.impactFromRows(groups, customers[0]);
    }, SNAPSHOT);
  }

  stepDurations(q: port.AnalyticsQuery): ReturnType<port.TaskStore['stepDurations']> {
    return this.db.tx(async (c) => {
      await c.query(PLANNER);
      const s = a.stepDurationsSql(this.dialect, q);
      return a.durationsFromRows((await c.query<a.StepDurationSqlRow>(s.sql, s.args)).rows);
    }, SNAPSHOT);
  }
}
