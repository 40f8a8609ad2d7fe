/** The PostgreSQL side of the analytics reads (store/analytics-sql.ts): the impact's two reads in one snapshot. */
import type pg from 'pg';
import * as a from '../analytics-sql.js';
import type * as port from '../port.js';
import type { PgPool } from './pool.js';

const SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

export class PgAnalytics {
  private readonly dialect: a.AnalyticsDialect;

  constructor(private readonly db: PgPool) {
    this.dialect = { param: (n) => `$${n}`, table: db.t, uuidCast: '::uuid' };
  }

  impactGroups(q: port.AnalyticsQuery): ReturnType<port.TaskStore['impactGroups']> {
    return this.db.tx(async (c) => {
      const all = async <R extends pg.QueryResultRow>(s: a.AnalyticsSql) =>
        (await c.query<R>(s.sql, s.args)).rows;
      const groups = await all<a.ImpactGroupRow>(a.impactGroupsSql(this.dialect, q));
      const customers = await all<{ named: string; anonymous: string | null }>(
        a.impactCustomersSql(this.dialect, q),
      );
      return a.impactFromRows(groups, customers[0]);
    }, SNAPSHOT);
  }

  /** One statement (the histogram and the window's count together): its own snapshot, no transaction. */
  async stepDurations(q: port.AnalyticsQuery): ReturnType<port.TaskStore['stepDurations']> {
    const s = a.stepDurationsSql(this.dialect, q);
    return a.durationsFromRows((await this.db.query<a.StepDurationSqlRow>(s.sql, s.args)).rows);
  }
}
