/**
 * Triage figures (prints them; not a test): `npm run bench:triage -- [--tasks N] [--db URL]`.
 *
 * Per store: run --tasks one-step orders that all fail (five causes, each message carrying its order id,
 * so only the signatures group them), then time GET /analytics/failure-groups (the library call, medians
 * of --runs), and a bulk retry of the largest group (up to 10,000 tasks at the top rate, 1,000/s): tasks
 * acted on per second from the job's creation to its completion.
 */
import { parseArgs } from 'node:util';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTasker, loadTemplateSource, PermanentError, type Tasker } from '../src/index.js';
import { admin, withSchema } from './pg-admin.js';
import { fmt, median } from './stats.js';

const HELP = `usage: npm run bench:triage -- [options]

  --tasks N   failed tasks seeded per store (default 100000)
  --runs N    timings of failure-groups; the median is reported (default 5)
  --db URL    also measure on this PostgreSQL database (a fresh schema, dropped after)
  -h, --help  this text
`;

const out = (s: string) => process.stdout.write(`${s}\n`);

const YAML = `
namespace: bench
name: order
version: 1.0.0
business: { value_field: amount, customer_field: customer }
steps:
  - { name: charge, handler: charge, retry: { max_attempts: 1 } }
`;

const CAUSES = [
  (i: number) => `card declined for order ${i} (code 51)`,
  (i: number) => `gateway timeout after 30s for order ${i}`,
  (i: number) => `customer cus_${i.toString(36)}9 is blocked`,
  (i: number) => `fraud score ${i % 100} above limit for "${i}"`,
  (i: number) => `ledger row 0x${(i * 2654435761).toString(16)} locked`,
];

async function measure(
  database: string,
  tasks: number,
  runs: number,
  analyze?: () => Promise<void>,
): Promise<void> {
  const { templates } = loadTemplateSource(YAML, 'bench.yaml');
  const failing = { on: true };
  const tasker: Tasker = await createTasker({
    database,
    templates,
    logger: false,
    migrate: true,
    concurrency: 64,
    handlers: {
      charge: ({ task }) => {
        const i = Number(task.context.order);
        if (failing.on) throw new PermanentError(CAUSES[i % CAUSES.length]!(i));
        return { ok: true };
      },
    },
  });
  try {
    const t0 = performance.now();
    tasker.start();
    for (let i = 0; i < tasks; i += 1000) {
      await tasker.createTasks(
        Array.from({ length: Math.min(1000, tasks - i) }, (_, k) => ({
          namespace: 'bench',
          name: 'order',
          context: { order: i + k, amount: ((i + k) % 200) + 0.5, customer: `c${(i + k) % 5000}` },
        })),
      );
    }
    while ((await tasker.countTasks({ status: ['pending', 'in_progress'] })) > 0)
      await new Promise((r) => setTimeout(r, 200));
    out(`  seeded ${fmt(tasks)} failed tasks in ${fmt((performance.now() - t0) / 1000, 1)} s`);
    if (analyze) {
      // What autovacuum does on its own after this many new rows; without statistics the planner takes
      // 100,000 attempts for a few hundred and joins them one index lookup at a time.
      await analyze();
      out('  ANALYZE run on the schema (as autovacuum would after the seeding)');
    }

    const times: number[] = [];
    let groups = 0;
    let top = '';
    for (let r = 0; r < runs; r++) {
      const s = performance.now();
      const rep = await tasker.failureGroups({ rangeMs: 3_600_000 });
      times.push(performance.now() - s);
      groups = rep.groups.length;
      top = `${rep.groups[0]?.signature ?? '-'}: ${fmt(rep.groups[0]?.tasks ?? 0)} tasks, $${fmt(rep.groups[0]?.revenueAtRisk ?? 0)}`;
    }
    out(
      `  failure-groups over ${fmt(tasks)} failed tasks: median ${fmt(median(times))} ms of ${runs} (${times.map((x) => fmt(x)).join(', ')}); ${groups} groups; top ${top}`,
    );

    const rep = await tasker.failureGroups({ rangeMs: 3_600_000 });
    const g = rep.groups[0]!;
    // One job takes at most 10,000 tasks: the group's newest 10,000.
    const ids = (await tasker.failureGroup(g.fingerprint, { rangeMs: 3_600_000 }, 10_000)).tasks.map(
      (t) => t.id,
    );
    failing.on = false;
    const p0 = performance.now();
    const preview = await tasker.previewBulkAction({
      spec: { action: 'retry' },
      filter: { taskIds: ids },
      reason: 'bench',
      maxTasks: 10_000,
    });
    const previewMs = performance.now() - p0;
    if (preview.wouldChange > 10_000) {
      out(
        `  bulk retry: the group holds ${fmt(preview.wouldChange)} tasks, more than one job takes; skipped`,
      );
      return;
    }
    const s = performance.now();
    const job = await tasker.startBulkAction({
      spec: { action: 'retry' },
      filter: { taskIds: ids },
      reason: 'bench',
      maxTasks: 10_000,
      ratePerSecond: 1000,
    });
    const planMs = performance.now() - s;
    for (;;) {
      const { job: j } = await tasker.getBulkJob(job.id);
      if (j.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const secs = (performance.now() - s) / 1000;
    out(
      `  bulk retry of ${fmt(preview.wouldChange)} tasks (rate limit 1,000/s): ${fmt(preview.wouldChange / secs)} tasks/s over ${fmt(secs, 1)} s (dry run ${fmt(previewMs)} ms, job planned and recorded in ${fmt(planMs)} ms)`,
    );
  } finally {
    await tasker.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tasks: { type: 'string', default: '100000' },
      runs: { type: 'string', default: '5' },
      db: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    out(HELP);
    return;
  }
  const tasks = Number(values.tasks);
  const runs = Number(values.runs);
  if (!Number.isInteger(tasks) || tasks < 100)
    throw new Error(`--tasks: expected an integer ≥ 100, got ${values.tasks}`);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs: expected an integer ≥ 1, got ${values.runs}`);
  const file = join(tmpdir(), `tasker-bench-triage-${process.pid}.db`);
  out(`SQLite (${file})`);
  try {
    await measure(`sqlite:${file}`, tasks, runs);
  } finally {
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  }
  if (values.db) {
    const schema = `tasker_bench_triage_${process.pid}`;
    out(`PostgreSQL (${new URL(values.db).host}, schema ${schema})`);
    try {
      await measure(withSchema(values.db, schema), tasks, runs, async () => {
        await admin(values.db!, (c) => c.query(`ANALYZE "${schema}".tasks, "${schema}".step_attempts`));
      });
    } finally {
      await admin(values.db, (c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:triage failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
