/**
 * The throughput aggregate, shared by both adapters: one pass over the window's tasks (primary-key range,
 * UUIDv7 ids being time-ordered) grouped by template, creation bucket, finishing bucket and status. The
 * caller folds the rows into per-bucket series (foldThroughput).
 */
import { uuidv7Floor } from './cursor.js';
import type { ThroughputQuery, ThroughputRow } from './port.js';

export interface ThroughputSql {
  sql: string;
  args: unknown[];
}

export function throughputSql(
  q: ThroughputQuery,
  table: string,
  /** The dialect's placeholder for the n-th argument (1-based), given its value (to type it). */
  param: (n: number, value: unknown) => string,
  uuidCast = '',
): ThroughputSql {
  const args: unknown[] = [];
  const arg = (v: unknown): string => {
    args.push(v);
    return param(args.length, v);
  };
  const from = arg(q.from);
  const bucket = arg(q.bucketMs);
  const to = arg(q.to);
  const scanFrom = q.scanFrom ?? q.from;
  const where = [
    `t.id >= ${arg(uuidv7Floor(scanFrom))}${uuidCast}`,
    `t.created_at >= ${arg(scanFrom)}`,
    `t.created_at < ${to}`,
  ];
  if (q.namespace !== undefined) where.push(`t.namespace = ${arg(q.namespace)}`);
  if (q.name !== undefined) where.push(`t.name = ${arg(q.name)}`);
  if (q.namespaces) {
    const list = q.namespaces.map((n) => arg(n));
    where.push(list.length > 0 ? `t.namespace IN (${list.join(', ')})` : '1 = 0');
  }
  // CAST: SQLite divides as REAL when the driver binds the bounds as doubles.
  // Buckets before `from` (created, or finished, earlier) are null and left out by the fold.
  const sql = `SELECT t.namespace, t.name,
      CASE WHEN t.created_at >= ${from} THEN CAST((t.created_at - ${from}) / ${bucket} AS INTEGER) END AS cb,
      CASE WHEN t.status IN ('complete', 'error') AND t.finished_at >= ${from} AND t.finished_at < ${to}
        THEN CAST((t.finished_at - ${from}) / ${bucket} AS INTEGER) END AS fb,
      t.status, COUNT(*) AS n
    FROM ${table} t WHERE ${where.join(' AND ')}
    GROUP BY t.namespace, t.name, cb, fb, t.status`;
  return { sql, args };
}

export interface ThroughputGroup {
  namespace: string;
  name: string;
  cb: number | string | null;
  fb: number | string | null;
  status: string;
  n: number | string;
}

/** Grouped rows → one row per (template, bucket). */
export function foldThroughput(groups: readonly ThroughputGroup[]): ThroughputRow[] {
  const out = new Map<string, ThroughputRow>();
  const row = (namespace: string, name: string, bucket: number): ThroughputRow => {
    const key = `${namespace}\u0000${name}\u0000${bucket}`;
    let r = out.get(key);
    if (!r) out.set(key, (r = { namespace, name, bucket, created: 0, completed: 0, failed: 0 }));
    return r;
  };
  for (const g of groups) {
    const n = Number(g.n);
    if (g.cb !== null) row(g.namespace, g.name, Number(g.cb)).created += n;
    if (g.fb !== null) {
      const r = row(g.namespace, g.name, Number(g.fb));
      if (g.status === 'complete') r.completed += n;
      else r.failed += n;
    }
  }
  return [...out.values()];
}
