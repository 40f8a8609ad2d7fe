/**
 * Crash safety: a worker process is killed with SIGKILL while steps run; a new process on the same file
 * finds the in-flight attempts once their leases expire, records them as worker_lost, retries them, and
 * finishes every task. Completed steps never run again; each task's terminal event is emitted once.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { sleep, tempDir } from './support/harness.js';

const WORKER = join(import.meta.dirname, 'fixtures', 'crash-worker.mjs');

function lines(file: string): string[][] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
    : [];
}

function run(db: string, log: string, create: number) {
  const child = spawn(process.execPath, [WORKER, db, log, String(create)], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited };
}

describe('crash recovery', () => {
  it('recovers in-flight steps of a SIGKILLed worker; nothing is lost or done twice', async () => {
    const dir = tempDir();
    const db = join(dir, 'crash.db');
    const log = join(dir, 'log.txt');
    const TASKS = 20;

    const first = run(db, log, TASKS);
    // Wait until every task is inside its slow step b, then kill without warning.
    for (let i = 0; i < 400; i++) {
      if (lines(log).filter((l) => l[1] === 'start' && l[3] === 'b').length >= TASKS) break;
      await sleep(10);
    }
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    const firstPid = String(first.child.pid);

    const before = new Database(db, { readonly: true });
    const inFlight = before.prepare("SELECT COUNT(*) AS n FROM steps WHERE status = 'in_progress'").get() as {
      n: number;
    };
    const completedBefore = before
      .prepare("SELECT task_id, name FROM steps WHERE status = 'complete'")
      .all() as Array<{
      task_id: string;
      name: string;
    }>;
    before.close();
    expect(inFlight.n).toBeGreaterThan(0);
    expect(completedBefore.length).toBeGreaterThanOrEqual(TASKS); // every step a

    const second = run(db, log, 0);
    expect(await second.exited).toBe(0);
    const secondPid = String(second.child.pid);
    const all = lines(log);
    expect(all.some((l) => l[0] === secondPid && l[1] === 'all-done')).toBe(true);

    const after = new Database(db, { readonly: true });
    const statuses = after.prepare('SELECT status, COUNT(*) AS n FROM tasks GROUP BY status').all();
    expect(statuses).toEqual([{ status: 'complete', n: TASKS }]);
    // No step has two successful attempts.
    const doubled = after
      .prepare(
        "SELECT step_id, COUNT(*) AS n FROM step_attempts WHERE outcome = 'complete' GROUP BY step_id HAVING n > 1",
      )
      .all();
    expect(doubled).toEqual([]);
    const lost = after
      .prepare(
        "SELECT step_name, attempt, outcome, worker_id FROM step_attempts WHERE error_type = 'worker_lost'",
      )
      .all() as Array<{ step_name: string; attempt: number; outcome: string; worker_id: string }>;
    expect(lost.length).toBe(inFlight.n);
    expect(lost.every((l) => l.step_name === 'b' && l.attempt === 1 && l.outcome === 'retry')).toBe(true);
    expect(lost.every((l) => l.worker_id.includes(`:${firstPid}:`))).toBe(true);
    after.close();

    // Steps completed before the crash never ran again in the second process.
    const rerun = all.filter((l) => l[0] === secondPid && l[1] === 'start');
    const done = new Set(completedBefore.map((s) => `${s.task_id} ${s.name}`));
    expect(rerun.filter((l) => done.has(`${l[2]} ${l[3]}`))).toEqual([]);
    expect(rerun.filter((l) => l[3] === 'b').every((l) => l[4] === '2')).toBe(true);

    // Each task's terminal event exactly once across both processes.
    const terminal = all.filter((l) => l[1] === 'event');
    expect(terminal).toHaveLength(TASKS);
    expect(new Set(terminal.map((l) => l[3])).size).toBe(TASKS);
    expect(terminal.every((l) => l[2] === 'task.completed')).toBe(true);
  }, 30_000);
});
