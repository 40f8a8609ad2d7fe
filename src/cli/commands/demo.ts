/**
 * `tasker demo` (what `npm start` runs): the seed's checkout workflow on a stream of orders, on the
 * embedded store, with a live summary. Uses only the public API plus the example's handlers.
 */
import type { Command } from 'commander';
import { join, relative } from 'node:path';
import { handlers } from '../../../examples/checkout/handlers.js';
import { makeOrder } from '../../../examples/checkout/orders.js';
import {
  numberFlag,
  closeTasker,
  openTasker,
  settingsFrom,
  type CliIo,
  type CommonFlags,
} from '../context.js';
import { duration, table } from '../format.js';
import type { Tasker } from '../../tasker.js';
import { packageInfo } from '../../package-root.js';

interface DemoFlags extends CommonFlags {
  orders?: number;
  rate: number;
  concurrency: number;
  interval: number;
}

class Summary {
  created = 0;
  completed = 0;
  failed = 0;
  retries = 0;
  timeouts = 0;
  readonly durations = new Map<string, number[]>();
  readonly failedIds: string[] = [];

  attach(t: Tasker): void {
    t.subscribe('task.completed', () => void (this.completed += 1), { name: 'demo-summary' });
    t.subscribe('task.failed', (e) => {
      this.failed += 1;
      this.failedIds.push(e.payload.task_id);
    });
    t.subscribe('step.retry_scheduled', () => void (this.retries += 1));
    t.subscribe('step.timed_out', () => void (this.timeouts += 1));
    t.subscribe('step.completed', (e) => {
      const p = e.payload;
      const list = this.durations.get(p.step_name) ?? [];
      list.push((p.execution_duration_seconds ?? 0) * 1000);
      if (list.length > 5000) list.splice(0, list.length - 5000);
      this.durations.set(p.step_name, list);
    });
  }

  render(elapsedMs: number, order: string[]): string {
    const done = this.completed + this.failed;
    const head =
      `[${(elapsedMs / 1000).toFixed(1).padStart(6)} s] created ${this.created}  completed ${this.completed}  ` +
      `failed ${this.failed}  in flight ${this.created - done}  retries ${this.retries}  timeouts ${this.timeouts}  ` +
      `(${(done / Math.max(elapsedMs / 1000, 0.001)).toFixed(1)} tasks/s)`;
    const rows = order.map((name) => {
      const xs = [...(this.durations.get(name) ?? [])].sort((a, b) => a - b);
      const q = (p: number) =>
        xs.length ? (xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? null) : null;
      return [`  ${name}`, duration(q(0.5)), duration(q(0.95)), String(xs.length)];
    });
    return `${head}\n${table(['  step', 'p50', 'p95', 'completed'], rows)}`;
  }
}

export function registerDemo(program: Command, io: CliIo, common: (c: Command) => Command): void {
  common(
    program
      .command('demo')
      .description('run the checkout demo (ecommerce/process_order) on a stream of orders'),
  )
    .option('--orders <n>', 'stop after this many orders (default: run until Ctrl-C)', (v) => Number(v))
    .option('--rate <n>', 'orders per second', (v) => Number(v), 20)
    .option('--concurrency <n>', 'steps running at once', (v) => Number(v), 64)
    .option('--interval <seconds>', 'seconds between summaries', (v) => Number(v), 2)
    .action(async (o: DemoFlags) => {
      if (o.orders !== undefined) numberFlag('--orders', o.orders, 1, 10_000_000, true);
      numberFlag('--rate', o.rate, 0.01, 100_000);
      numberFlag('--concurrency', o.concurrency, 1, 10_000, true);
      numberFlag('--interval', o.interval, 0.1, 3600);
      const settings = settingsFrom(io, o, { concurrency: o.concurrency });
      settings.templates = [join(packageInfo().root, 'examples', 'checkout', 'templates')];
      delete settings.handlers;
      const tasker = await openTasker(io, settings, { templates: true });
      tasker.registerHandlers(handlers);
      const template = tasker.catalog.get('ecommerce', 'process_order');
      const order = template.steps.map((s) => s.name);
      const summary = new Summary();
      summary.attach(tasker);
      tasker.start();
      io.out(
        `Checkout demo: ${template.namespace}/${template.name}@${template.version} on ${tasker.settings.storeLocation}`,
      );
      io.out(`${o.orders ?? 'unlimited'} orders at ${o.rate}/s; Ctrl-C stops.\n`);

      const started = Date.now();
      let stopping = false;
      const onSignal = () => (stopping = true);
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const ticker = setInterval(
        () => io.out(summary.render(Date.now() - started, order) + '\n'),
        o.interval * 1000,
      );
      try {
        let n = 0;
        while (!stopping && (o.orders === undefined || n < o.orders)) {
          const due = started + (n * 1000) / o.rate;
          const wait = due - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          n += 1;
          const context = makeOrder(n) as unknown as Record<string, unknown>;
          await tasker.createTask({ namespace: 'ecommerce', name: 'process_order', context, tags: ['demo'] });
          summary.created += 1;
        }
        const deadline = Date.now() + 30_000;
        while (summary.completed + summary.failed < summary.created && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        clearInterval(ticker);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await closeTasker(tasker);
      }
      io.out(summary.render(Date.now() - started, order));
      // Installed, the command is `tasker`; from a checkout, `node <path to bin/tasker.js>`.
      const bin = process.argv[1] ?? 'tasker';
      const cmd = bin.includes('node_modules') ? 'tasker' : `node ${relative(io.cwd, bin) || bin}`;
      io.out('\nLook closer:');
      io.out(`  ${cmd} tasks --status error --namespace ecommerce`);
      if (summary.failedIds[0]) io.out(`  ${cmd} show ${summary.failedIds[0]}`);
    });
}
