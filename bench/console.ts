/**
 * The console's figures (prints them; not a test). `npm run bench:console -- --help` for the flags.
 *
 * Per store: seed --tasks checkout orders and run them (a mix of completed and failed), serve the API and
 * console, and drive Debian's Chromium through playwright-core, each measurement in a fresh browser
 * context (cold cache: the page's scripts are fetched and parsed every time):
 *   - first paint of the task list: navigation start → the first row drawn, and the browser's own
 *     first-contentful-paint;
 *   - first paint of a task detail: navigation start → its DAG drawn;
 *   - a 200-step DAG: navigation start → all 200 nodes drawn;
 *   - live-update latency: a task created by this process → its row in an open list; and on PostgreSQL a
 *     task created and run by another process → its row, and its completion, in the open list.
 * Also the console's JavaScript size, gzipped, as served.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { chromium, type Browser } from 'playwright-core';
import { stringify, parse } from 'yaml';
import { handlers as checkout } from '../examples/checkout/handlers.js';
import { makeOrder, seededRandom } from '../examples/checkout/orders.js';
import { serve } from '../src/api/server.js';
import { createTasker, loadTemplateSource, type TaskTemplate } from '../src/index.js';
import { packageInfo } from '../src/package-root.js';
import { firstPaint, newPage } from './browser.js';
import { median } from './stats.js';

const HELP = `usage: npm run bench:console -- [options]

  --tasks N      checkout tasks seeded (and run) per store (default 100000)
  --runs N       measurements of each figure; medians are reported (default 5)
  --db URL       also measure on this PostgreSQL database (a fresh schema is created and dropped)
  --chromium P   the browser (default /usr/bin/chromium)
  -h, --help     this text
`;

const root = packageInfo().root;
const out = (s: string) => process.stdout.write(`${s}\n`);
const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

function checkoutTemplate(): TaskTemplate {
  const doc = parse(readFileSync(join(root, 'examples/checkout/templates/process_order.yaml'), 'utf8')) as {
    steps: Array<{ handler_config?: Record<string, unknown> }>;
  };
  // The seed's workflow, with its simulated latencies cut so 100,000 orders run in under a minute.
  for (const s of doc.steps) s.handler_config = { ...s.handler_config, latency_ms: [0, 1] };
  const { templates, issues } = loadTemplateSource(stringify(doc), 'process_order.yaml');
  if (issues.length > 0 || !templates[0]) throw new Error(JSON.stringify(issues));
  return templates[0];
}

function wideDag(): TaskTemplate {
  const lines = ['namespace: big', 'name: dag200', 'version: 1.0.0', 'steps:'];
  for (let layer = 0; layer < 20; layer++)
    for (let i = 0; i < 10; i++) {
      const deps = layer === 0 ? [] : [...new Set([`s${layer - 1}_${i}`, `s${layer - 1}_${(i + 3) % 10}`])];
      lines.push(`  - { name: s${layer}_${i}, handler: noop, depends_on: [${deps.join(', ')}] }`);
    }
  const { templates } = loadTemplateSource(lines.join('\n'), 'dag200.yaml');
  return templates[0] as TaskTemplate;
}

function bundleReport(): string {
  const dir = join(root, 'dist', 'console', 'assets');
  let js = 0;
  let css = 0;
  for (const f of readdirSync(dir)) {
    const gz = gzipSync(readFileSync(join(dir, f)), { level: 9 }).length;
    if (f.endsWith('.js')) js += gz;
    if (f.endsWith('.css')) css += gz;
  }
  return `bundle: JavaScript ${fmt(js / 1024, 1)} KB gzipped (budget 350 KB), CSS ${fmt(css / 1024, 1)} KB`;
}

async function poll(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** test/fixtures/remote-worker.mjs: another process creates a task and runs it to its end. */
function runRemote(database: string): Promise<{ id: string; createdAt: number; finishedAt: number }> {
  const child = spawn(process.execPath, [join(root, 'test', 'fixtures', 'remote-worker.mjs'), database], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0
        ? resolve(
            JSON.parse(text.trim().split('\n').pop() ?? '') as {
              id: string;
              createdAt: number;
              finishedAt: number;
            },
          )
        : reject(new Error(`remote worker exited ${code}`)),
    ),
  );
}

async function benchStore(
  browser: Browser,
  label: string,
  database: string,
  o: { tasks: number; runs: number },
) {
  out(`\n${label}`);
  // The template test/fixtures/remote-worker.mjs creates and runs (the "other process").
  const remoteTemplate = loadTemplateSource(
    readFileSync(join(root, 'test', 'fixtures', 'remote-template.yaml'), 'utf8'),
    'remote-template.yaml',
  ).templates;
  const tasker = await createTasker({
    database,
    templates: [checkoutTemplate(), wideDag(), ...remoteTemplate],
    handlers: { ...checkout, noop: () => ({}), h: () => ({}) },
    logger: false,
    migrate: true,
    concurrency: 256,
    sqliteSynchronous: 'normal',
  });
  try {
    const random = seededRandom(42);
    const t0 = Date.now();
    for (let i = 0; i < o.tasks; i += 1000) {
      await tasker.createTasks(
        Array.from({ length: Math.min(1000, o.tasks - i) }, (_, k) => ({
          namespace: 'ecommerce',
          name: 'process_order',
          context: makeOrder(i + k + 1, random) as unknown as Record<string, unknown>,
        })),
      );
    }
    tasker.start();
    while ((await tasker.countTasks({ status: ['pending', 'in_progress'] })) > o.tasks * 0.01)
      await new Promise((r) => setTimeout(r, 500));
    const counts = await Promise.all(
      (['complete', 'error', 'pending', 'in_progress'] as const).map((s) =>
        tasker.countTasks({ status: [s] }),
      ),
    );
    out(
      `  seeded and ran ${fmt(o.tasks)} checkout tasks in ${fmt((Date.now() - t0) / 1000, 1)} s ` +
        `(completed ${fmt(counts[0] ?? 0)}, failed ${fmt(counts[1] ?? 0)}, open ${fmt((counts[2] ?? 0) + (counts[3] ?? 0))})`,
    );
    // The measurements run on a quiet engine: the last open tasks wait (a worker finishing them would
    // share the two cores with the browser).
    await tasker.stop();
    const { app, url } = await serve(tasker, { port: 0, processMetrics: false });
    try {
      const { tasks } = await tasker.listTasks({ status: ['error'], limit: 1 });
      const failedId = tasks[0]?.id ?? '';
      const big = await tasker.createTask({ namespace: 'big', name: 'dag200' });
      tasker.start();
      await tasker.waitForTask(big.task.id, { timeoutMs: 30_000 });
      await tasker.stop();
      // One warm-up of each page (the server's first requests JIT and fill caches).
      await firstPaint(browser, `${url}/ui/tasks`, '[data-task-id]');
      await firstPaint(browser, `${url}/ui/tasks/${failedId}`, '[data-step][data-status]');
      const list: number[] = [];
      const listFcp: number[] = [];
      const filtered: number[] = [];
      const detail: number[] = [];
      const dag: number[] = [];
      for (let i = 0; i < o.runs; i++) {
        const l = await firstPaint(browser, `${url}/ui/tasks`, '[data-task-id]');
        list.push(l.ms);
        listFcp.push(l.fcp);
        filtered.push(
          (await firstPaint(browser, `${url}/ui/tasks?status=failed&namespace=ecommerce`, '[data-task-id]'))
            .ms,
        );
        detail.push(
          (await firstPaint(browser, `${url}/ui/tasks/${failedId}`, '[data-step][data-status]')).ms,
        );
        dag.push(
          (await firstPaint(browser, `${url}/ui/tasks/${big.task.id}`, '[data-step="s19_9"][data-status]'))
            .ms,
        );
      }
      const med = (xs: number[]) => `${fmt(median(xs))} ms (runs ${xs.map((x) => fmt(x)).join(', ')})`;
      out(
        `  list, first row drawn (cold browser cache)       ${med(list)}; first-contentful-paint ${fmt(median(listFcp))} ms`,
      );
      out(`  list filtered status=failed, first row drawn    ${med(filtered)}`);
      out(`  task detail, DAG drawn                          ${med(detail)}`);
      out(`  200-step DAG, all 200 nodes drawn               ${med(dag)}`);

      // Live: when rows appear (and show `completed`) in an open list, by the page's wall clock (the same
      // machine's as the processes that commit). This process runs no worker now: what another process
      // does reaches the page through the database alone.
      const page = await newPage(browser);
      try {
        await page.addInitScript(
          `window.__rows = {}; window.__done = {}; new MutationObserver(() => { for (const r of document.querySelectorAll('[data-task-id]')) { const id = r.getAttribute('data-task-id'); if (!(id in window.__rows)) window.__rows[id] = Date.now(); if (!(id in window.__done) && r.textContent.includes('completed')) window.__done[id] = Date.now(); } }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });`,
        );
        await page.goto(`${url}/ui/tasks`);
        await page.locator('[data-live="connected"]').waitFor();
        const seenAt = async (id: string, what: '__rows' | '__done') => {
          await poll(
            async () =>
              (await page.evaluate<number | null>(`window.${what}[${JSON.stringify(id)}] ?? null`)) !== null,
          );
          return page.evaluate<number>(`window.${what}[${JSON.stringify(id)}]`);
        };
        const local: number[] = [];
        for (let i = 0; i < o.runs * 2; i++) {
          const t = Date.now();
          const { task } = await tasker.createTask({ namespace: 'live', name: 'remote' });
          local.push((await seenAt(task.id, '__rows')) - t);
        }
        out(`  live: created here → row in an open list        ${med(local)}`);
        if (database.startsWith('postgres')) {
          const created: number[] = [];
          const done: number[] = [];
          for (let i = 0; i < o.runs; i++) {
            const r = await runRemote(database);
            created.push((await seenAt(r.id, '__rows')) - r.createdAt);
            done.push((await seenAt(r.id, '__done')) - r.finishedAt);
          }
          out(`  live: created in another process → row          ${med(created)}`);
          out(`  live: completed in another process → row shows  ${med(done)}`);
        }
      } finally {
        await page.context().close();
      }
    } finally {
      await app.close();
    }
  } finally {
    await tasker.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tasks: { type: 'string' },
      runs: { type: 'string' },
      db: { type: 'string' },
      chromium: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(HELP);
  const tasks = Number(values.tasks ?? 100_000);
  const runs = Number(values.runs ?? 5);
  if (!Number.isInteger(tasks) || tasks < 10 || !Number.isInteger(runs) || runs < 1) {
    process.stderr.write(`bench:console: --tasks and --runs take positive integers\n\n${HELP}`);
    process.exit(2);
  }
  out(bundleReport());
  const browser = await chromium.launch({
    executablePath: values.chromium ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  try {
    const dir = join((await import('node:os')).tmpdir(), `tasker-bench-console-${process.pid}`);
    try {
      await benchStore(browser, `SQLite (${fmt(tasks)} tasks)`, `sqlite:${join(dir, 'tasker.db')}`, {
        tasks,
        runs,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (values.db) {
      const schema = `tasker_bench_console_${process.pid}`;
      const url = new URL(values.db);
      url.searchParams.set('schema', schema);
      try {
        await benchStore(browser, `PostgreSQL (${fmt(tasks)} tasks)`, url.toString(), { tasks, runs });
      } finally {
        const c = new pg.Client({ connectionString: values.db });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await c.end();
      }
    }
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:console failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
