/**
 * Several worker processes on one SQLite file: SQLite serialises their transactions, and each process's
 * snapshot cache must notice the others' commits. A join step (c after a and b) completed by two
 * processes at once is the case that strands a task if either process decides on stale state.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createTasker } from '../src/index.js';
import { tempDir, templatesFromYaml } from './support/harness.js';

const WORKER = join(import.meta.dirname, 'fixtures', 'join-worker.mjs');
const TEMPLATE = `
namespace: mp
name: join
version: 1.0.0
steps:
  - { name: a, handler: h }
  - { name: b, handler: h }
  - { name: c, handler: h, depends_on: [a, b] }
`;

function runWorker(db: string): Promise<{ code: number | null; stats: Record<string, number> }> {
  const child = spawn(process.execPath, [WORKER, db], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) =>
    child.on('exit', (code) =>
      resolve({ code, stats: out ? (JSON.parse(out) as Record<string, number>) : {} }),
    ),
  );
}

describe('several worker processes on one SQLite file', () => {
  it('finish every task of a join DAG with no conflicts, lost steps or double completions', async () => {
    const db = join(tempDir(), 'mp.db');
    const seed = await createTasker({
      database: `sqlite:${db}`,
      templates: templatesFromYaml(TEMPLATE),
      logger: false,
    });
    await seed.createTasks(Array.from({ length: 300 }, () => ({ namespace: 'mp', name: 'join' })));
    await seed.close();

    const results = await Promise.all([runWorker(db), runWorker(db)]);
    for (const r of results) {
      expect(r.code).toBe(0);
      expect(r.stats.storeErrors).toBe(0);
      expect(r.stats.stale).toBe(0);
    }
    const d = new Database(db, { readonly: true });
    expect(d.prepare('SELECT status, COUNT(*) AS n FROM tasks GROUP BY status').all()).toEqual([
      { status: 'complete', n: 300 },
    ]);
    const completions = d
      .prepare(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT step_id) AS steps FROM step_attempts WHERE outcome = 'complete'",
      )
      .get() as { n: number; steps: number };
    expect(completions).toEqual({ n: 900, steps: 900 });
    d.close();
    // Both processes did work.
    expect(results.every((r) => (r.stats.committed ?? 0) > 0)).toBe(true);
  }, 60_000);
});
