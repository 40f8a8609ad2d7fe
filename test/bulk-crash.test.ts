/**
 * A bulk job survives its server: the process running it is killed with SIGKILL mid-job, another process
 * takes the job over once its lease expires and finishes it; every task is retried exactly once.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../src/index.js';
import { sleep, startEngine } from './support/harness.js';

const SERVER = join(import.meta.dirname, 'fixtures', 'bulk-server.mjs');
const TASKS = 16;

describe('bulk jobs and crashes', () => {
  it(
    'a job killed mid-way is finished by another process without acting on any task twice',
    { timeout: 60_000 },
    async () => {
      const { tasker, database } = await startEngine(
        `
namespace: crash
name: order
version: 1.0.0
steps:
  - { name: a, handler: a }
  - { name: b, handler: b, depends_on: [a] }
`,
        {
          a: () => 1,
          b: () => {
            throw new PermanentError('down');
          },
        },
      );
      const created = await tasker.createTasks(
        Array.from({ length: TASKS }, () => ({ namespace: 'crash', name: 'order' })),
      );
      for (const c of created) expect((await tasker.waitForTask(c.task.id)).status).toBe('error');
      await tasker.stop(); // nothing runs the retried tasks: each retry stays visible as one transition

      const first = spawn(process.execPath, [SERVER, database, 'start'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const jobId = await new Promise<string>((resolve, reject) => {
        first.stdout.on('data', (d: Buffer) => resolve(d.toString().trim()));
        first.on('exit', (code) => reject(new Error(`bulk server exited with ${code}`)));
      });
      let doneBefore = 0;
      for (let i = 0; i < 200 && doneBefore < 4; i++) {
        await sleep(25);
        doneBefore = (await tasker.getBulkJob(jobId)).job.counts.done;
      }
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      const killed = (await tasker.getBulkJob(jobId)).job;
      expect(killed.status).toBe('running');
      expect(killed.counts.done).toBeGreaterThanOrEqual(4);
      expect(killed.counts.pending).toBeGreaterThan(0);

      const second = spawn(process.execPath, [SERVER, database, 'resume'], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      expect(await new Promise((r) => second.once('exit', r))).toBe(0);

      const { job, items } = await tasker.getBulkJob(jobId);
      expect(job.status).toBe('completed');
      expect(job.counts).toEqual({ pending: 0, done: TASKS, skipped: 0, failed: 0 });
      expect(new Set(items.map((i) => i.taskId)).size).toBe(TASKS);
      for (const c of created) {
        const retries = (await tasker.getTransitions(c.task.id)).filter(
          (t) => t.stepName === null && t.reason === 'crash test',
        );
        expect(retries).toHaveLength(1);
        expect((await tasker.getTask(c.task.id)).task.status).toBe('pending');
      }
      const audit = await tasker.listAudit({ actor: 'crash' });
      expect(audit.map((a) => a.action)).toEqual(['bulk.finished', 'bulk.retry']);
    },
  );
});
