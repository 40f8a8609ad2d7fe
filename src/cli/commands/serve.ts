/**
 * `tasker serve` (what `npm start` runs, with --demo): the HTTP API at /tasker plus a worker in one
 * process. With no handlers module it serves the API alone (a dedicated API process next to workers).
 * --demo loads the checkout example and feeds it a stream of orders, so every route has data to show.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { handlers as checkoutHandlers } from '../../../examples/checkout/handlers.js';
import { makeOrder } from '../../../examples/checkout/orders.js';
import { serve } from '../../api/server.js';
import {
  closeTasker,
  numberFlag,
  openTasker,
  settingsFrom,
  type CliIo,
  type CommonFlags,
} from '../context.js';
import { packageInfo } from '../../package-root.js';

interface ServeFlags extends CommonFlags {
  host?: string;
  port?: number;
  concurrency?: number;
  demo?: boolean;
  rate: number;
  allowUnauthenticated?: boolean;
  console: boolean;
}

export function registerServe(program: Command, io: CliIo, common: (c: Command) => Command): void {
  common(program.command('serve').description('serve the HTTP API at /tasker and run a worker'))
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--port <n>', 'port (default 3000)', (v) => Number(v))
    .option('--concurrency <n>', 'steps running at once', (v) => Number(v))
    .option('--demo', 'load the checkout example and generate order traffic')
    .option('--rate <n>', 'demo orders per second', (v) => Number(v), 5)
    .option('--allow-unauthenticated', 'serve without API tokens on a non-loopback address')
    .option('--no-console', 'do not serve the web console at /tasker/ui')
    .action(async (o: ServeFlags) => {
      const extra: Record<string, unknown> = {};
      if (o.concurrency !== undefined)
        extra.concurrency = numberFlag('--concurrency', o.concurrency, 1, 10_000, true);
      if (o.port !== undefined) extra.port = numberFlag('--port', o.port, 0, 65_535, true);
      if (o.host !== undefined) extra.host = o.host;
      const rate = numberFlag('--rate', o.rate, 0.01, 10_000);
      const settings = settingsFrom(io, o, extra);
      if (o.demo) {
        settings.templates = [join(packageInfo().root, 'examples', 'checkout', 'templates')];
        delete settings.handlers;
      }
      const runWorker = o.demo === true || settings.handlers !== undefined;
      const tasker = await openTasker(io, settings, {
        templates: true,
        handlers: settings.handlers !== undefined,
        defaultLogLevel: 'info',
        push: true,
      });
      if (o.demo) tasker.registerHandlers(checkoutHandlers);
      let app;
      let url;
      let consoleUrl;
      try {
        ({ app, url, consoleUrl } = await serve(tasker, {
          host: settings.host,
          port: settings.port,
          tokens: settings.apiTokens,
          metricsRequireAuth: settings.metricsRequireAuth,
          allowUnauthenticated: o.allowUnauthenticated ?? settings.allowUnauthenticated,
          bodyLimit: settings.bodyLimit,
          console: o.console ? settings.console : false,
        }));
      } catch (err) {
        await closeTasker(tasker);
        throw err;
      }
      if (runWorker) tasker.start();
      if (consoleUrl) io.out(`Tasker console: ${consoleUrl}`);
      io.out(
        `Tasker API on ${url} (${tasker.settings.storeLocation}; ${runWorker ? 'worker running' : 'API only: no handlers module'})`,
      );
      const auth = (settings.apiTokens ?? []).length > 0 ? ' -H "Authorization: Bearer $TOKEN"' : '';
      io.out(
        [
          'Try:',
          `  curl${auth} ${url}/health`,
          `  curl${auth} "${url}/tasks?status=failed&namespace=ecommerce"`,
          `  curl${auth} "${url}/tasks/<id>?include_dependencies=true&include_business_metrics=true"`,
          `  curl${auth} "${url}/analytics/business-impact?time_range=1h&namespace=ecommerce"`,
          `  curl${auth} "${url}/analytics/bottlenecks?time_range=1h"`,
          `  curl ${url}/metrics`,
          `  curl ${url}/openapi.json`,
          'Ctrl-C stops.',
        ].join('\n'),
      );
      let traffic: NodeJS.Timeout | undefined;
      if (o.demo) {
        let n = 0;
        let busy = false;
        traffic = setInterval(() => {
          if (busy) return;
          busy = true;
          const context = makeOrder(++n) as unknown as Record<string, unknown>;
          tasker
            .createTask({ namespace: 'ecommerce', name: 'process_order', context, tags: ['demo'] })
            .catch((err: unknown) => tasker.logger.error({ err }, 'demo order not created'))
            .finally(() => (busy = false));
        }, 1000 / rate);
      }
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      clearInterval(traffic);
      await app.close();
      await closeTasker(tasker);
    });
}
