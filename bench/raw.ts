/**
 * The raw ceiling of the store: the rows the engine writes for a one-step task, written with better-sqlite3
 * directly (no engine, no JS planning), batched 100 steps per transaction, on a fresh file with the
 * engine's pragmas and real schema. Mirrors SqliteStore exactly, statement for statement:
 *
 *   create   INSERT task, INSERT step (ready_at = now), INSERT transition-log row (task ∅ → pending)
 *   claim    UPDATE task → in_progress, UPDATE step → in_progress (lease), INSERT one transition-log row
 *            holding both transitions
 *   complete UPDATE step → complete, INSERT attempt, UPDATE task → complete, INSERT one transition-log row
 *
 * The `reads` variant also performs the reads one engine cycle does: the ready-steps query, a snapshot
 * load (task row + step rows) per step at claim and again at completion, and the next-ready query.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { newCorrelationId, uuidv7 } from '../src/runtime/ids.js';
import { SQLITE_MIGRATIONS } from '../src/store/sqlite/migrations.js';
import type { Sync } from './scenarios.js';
import { RssSampler } from './stats.js';

export interface RawJob {
  kind: 'raw';
  steps: number;
  batch: number;
  sync: Sync;
}

export interface RawPhase {
  createSeconds: number;
  createStepsPerSec: number;
  execSeconds: number;
  execStepsPerSec: number;
  /** create + execute, steps/s. */
  totalStepsPerSec: number;
}

export interface RawResult {
  kind: 'raw';
  steps: number;
  batch: number;
  writes: RawPhase;
  withReads: RawPhase;
  peakRssMiB: number;
}

const RETRY_JSON = JSON.stringify({
  retryable: true,
  maxAttempts: 3,
  backoff: { baseSeconds: 1, multiplier: 2, maxSeconds: 300, jitter: 0.1 },
});
const RESULTS_JSON = JSON.stringify({ ok: true });
const WORKER = 'bench-host:1:abcdef';
const LEASE_MS = 30_000;

function open(path: string, sync: Sync): Database.Database {
  // The same pragmas as src/store/sqlite/open.ts.
  const db = new Database(path, { timeout: 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  for (const m of SQLITE_MIGRATIONS) db.exec(m.sql);
  return db;
}

function runOnce(path: string, job: RawJob, withReads: boolean): RawPhase {
  const db = open(path, job.sync);
  try {
    // The statements of SqliteStore, verbatim.
    const insertTask = db.prepare(
      `INSERT INTO tasks (id, namespace, name, version, status, context, correlation_id, idempotency_key, tags,
         business, created_at, updated_at, started_at, finished_at)
       VALUES (@id, @namespace, @name, @version, @status, @context, @correlation_id, @idempotency_key, @tags,
         @business, @created_at, @updated_at, @started_at, @finished_at)`,
    );
    const insertStep = db.prepare(
      `INSERT INTO steps (task_id, name, position, handler, status, depends_on, attempts, attempt_limit, retry,
         timeout_ms, handler_config, ready_at, lease_owner, lease_expires_at, started_at, finished_at, results,
         error_message, error_type)
       VALUES (@task_id, @name, @position, @handler, @status, @depends_on, @attempts, @attempt_limit, @retry,
         @timeout_ms, @handler_config, @ready_at, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
    );
    const updateTask = db.prepare(
      `UPDATE tasks SET status = ?, updated_at = ?, started_at = ?, finished_at = ? WHERE id = ? AND status = ?`,
    );
    const updateStep = db.prepare(
      `UPDATE steps SET status = ?, attempts = ?, attempt_limit = ?, ready_at = ?, lease_owner = ?,
         lease_expires_at = ?, started_at = ?, finished_at = ?, results = ?, error_message = ?, error_type = ?
       WHERE id = ? AND status = ? AND attempts = ?`,
    );
    // One row per write per task, its transitions as positional entries (src/store/rows.ts).
    const insertTransitions = db.prepare('INSERT INTO transition_log (task_id, entries) VALUES (?, ?)');
    const entry = (
      step: string | null,
      from: string | null,
      to: string,
      at: number,
      attempt: number | null,
    ) => [step, from, to, at, attempt, null, null];
    const insertAttempt = db.prepare(
      `INSERT INTO step_attempts (step_id, attempt, task_id, step_name, started_at, finished_at, duration_ms,
         outcome, error_message, error_type, worker_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const selectTask = db.prepare('SELECT * FROM tasks WHERE id = ?');
    const selectSteps = db.prepare('SELECT * FROM steps WHERE task_id = ? ORDER BY position');
    const selectReady = db.prepare(
      'SELECT id, task_id FROM steps WHERE ready_at IS NOT NULL AND ready_at <= ? ORDER BY ready_at, id LIMIT ?',
    );
    const selectNextReady = db.prepare('SELECT MIN(ready_at) AS at FROM steps WHERE ready_at IS NOT NULL');

    const n = job.steps;
    // Ids as the engine makes them (time-ordered UUIDv7, random correlation ids), generated before the clock
    // starts: node's randomBytes costs several µs per call on some VMs and is not the store's cost.
    const t = Date.now();
    const taskIds = Array.from({ length: n }, () => uuidv7(t));
    const correlationIds = Array.from({ length: n }, () => newCorrelationId(t));
    const stepIds = new Float64Array(n);
    const ok = (changes: number, what: string) => {
      if (changes !== 1) throw new Error(`raw bench: ${what} changed ${changes} rows`);
    };

    const create = db.transaction((from: number, to: number) => {
      const now = Date.now();
      for (let i = from; i < to; i++) {
        const id = taskIds[i] ?? '';
        insertTask.run({
          id,
          namespace: 'bench',
          name: 'single',
          version: '1.0.0',
          status: 'pending',
          context: JSON.stringify({ n: i }),
          correlation_id: correlationIds[i] ?? '',
          idempotency_key: null,
          tags: '[]',
          business: null,
          created_at: now,
          updated_at: now,
          started_at: null,
          finished_at: null,
        });
        const step = insertStep.run({
          task_id: id,
          name: 'only',
          position: 0,
          handler: 'work',
          status: 'pending',
          depends_on: '[]',
          attempts: 0,
          attempt_limit: 3,
          retry: RETRY_JSON,
          timeout_ms: null,
          handler_config: '{}',
          ready_at: now,
        });
        stepIds[i] = Number(step.lastInsertRowid);
        insertTransitions.run(id, JSON.stringify([[null, null, 'pending', now, null, 'created', null]]));
      }
    });

    const claim = (taskId: string, stepId: number, now: number) => {
      ok(updateTask.run('in_progress', now, now, null, taskId, 'pending').changes, 'claim task');
      ok(
        updateStep.run(
          'in_progress',
          1,
          3,
          null,
          WORKER,
          now + LEASE_MS,
          now,
          null,
          null,
          null,
          null,
          stepId,
          'pending',
          0,
        ).changes,
        'claim step',
      );
      insertTransitions.run(
        taskId,
        JSON.stringify([
          entry(null, 'pending', 'in_progress', now, null),
          entry('only', 'pending', 'in_progress', now, 1),
        ]),
      );
    };
    const complete = (taskId: string, stepId: number, started: number, now: number) => {
      ok(
        updateStep.run(
          'complete',
          1,
          3,
          null,
          null,
          null,
          started,
          now,
          RESULTS_JSON,
          null,
          null,
          stepId,
          'in_progress',
          1,
        ).changes,
        'complete step',
      );
      insertAttempt.run(
        stepId,
        1,
        taskId,
        'only',
        started,
        now,
        now - started,
        'complete',
        null,
        null,
        WORKER,
      );
      ok(updateTask.run('complete', now, started, now, taskId, 'in_progress').changes, 'complete task');
      insertTransitions.run(
        taskId,
        JSON.stringify([
          entry('only', 'in_progress', 'complete', now, 1),
          entry(null, 'in_progress', 'complete', now, null),
        ]),
      );
    };

    // One transaction per batch: claim the batch, then complete it (the engine's steady state commits the
    // previous batch's outcomes and the next batch's claims in one cycle: the same statement count).
    const executeKnown = db.transaction((from: number, to: number) => {
      const now = Date.now();
      for (let i = from; i < to; i++) claim(taskIds[i] ?? '', stepIds[i] ?? 0, now);
      const end = Date.now();
      for (let i = from; i < to; i++) complete(taskIds[i] ?? '', stepIds[i] ?? 0, now, end);
    });
    const executeWithReads = db.transaction((limit: number) => {
      const now = Date.now();
      const rows = selectReady.all(now, limit) as Array<{ id: number; task_id: string }>;
      for (const r of rows) {
        selectTask.get(r.task_id);
        selectSteps.all(r.task_id);
        claim(r.task_id, r.id, now);
      }
      const end = Date.now();
      for (const r of rows) {
        selectTask.get(r.task_id);
        selectSteps.all(r.task_id);
        complete(r.task_id, r.id, now, end);
      }
      selectNextReady.get();
      return rows.length;
    });

    const c0 = performance.now();
    for (let i = 0; i < n; i += job.batch) create(i, Math.min(n, i + job.batch));
    const c1 = performance.now();
    if (withReads) {
      let left = n;
      while (left > 0) {
        const got = executeWithReads(Math.min(job.batch, left));
        if (got === 0) throw new Error('raw bench: no ready steps left');
        left -= got;
      }
    } else {
      for (let i = 0; i < n; i += job.batch) executeKnown(i, Math.min(n, i + job.batch));
    }
    const e1 = performance.now();
    const remaining = (
      db.prepare("SELECT COUNT(*) AS n FROM tasks WHERE status <> 'complete'").get() as { n: number }
    ).n;
    if (remaining !== 0) throw new Error(`raw bench: ${remaining} tasks not complete`);

    const createSeconds = (c1 - c0) / 1000;
    const execSeconds = (e1 - c1) / 1000;
    return {
      createSeconds,
      createStepsPerSec: n / createSeconds,
      execSeconds,
      execStepsPerSec: n / execSeconds,
      totalStepsPerSec: n / (createSeconds + execSeconds),
    };
  } finally {
    db.close();
  }
}

export function runRaw(job: RawJob): RawResult {
  const rss = new RssSampler().start();
  const dir = mkdtempSync(join(tmpdir(), 'tasker-bench-raw-'));
  try {
    const writes = runOnce(join(dir, 'writes.db'), job, false);
    const withReads = runOnce(join(dir, 'reads.db'), job, true);
    return { kind: 'raw', steps: job.steps, batch: job.batch, writes, withReads, peakRssMiB: rss.stop() };
  } finally {
    rss.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
