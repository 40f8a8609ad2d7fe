/** The SQLite side of the analytics reads (store/analytics-sql.ts); the impact's two in one transaction. */
import type Database from 'better-sqlite3';
import * as a from '../analytics-sql.js';
import type * as port from '../port.js';

const DIALECT: a.AnalyticsDialect = { param: () => '?', table: (name) => name, uuidCast: '' };

export class SqliteAnalytics {
  constructor(private readonly db: Database.Database) {}

  private all<R>(q: a.AnalyticsSql): R[] {
    return this.db.prepare(q.sql).all(...q.args) as R[];
  }

  impactGroups(q: port.AnalyticsQuery): Awaited<ReturnType<port.TaskStore['impactGroups']>> {
    return this.db.transaction(() =>
      a.impactFromRows(
        this.all<a.ImpactGroupRow>(a.impactGroupsSql(DIALECT, q)),
        this.all<{ named: number; anonymous: number | null }>(a.impactCustomersSql(DIALECT, q))[0],
      ),
    )();
  }

  stepDurations(q: port.AnalyticsQuery): Awaited<ReturnType<port.TaskStore['stepDurations']>> {
    return a.durationsFromRows(this.all<a.StepDurationSqlRow>(a.stepDurationsSql(DIALECT, q)));
  }
}
