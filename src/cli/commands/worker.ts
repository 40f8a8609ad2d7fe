/** `tasker worker`: run steps until SIGINT/SIGTERM, then finish what is running and exit. */
import type { Command } from 'commander';
import {
  closeTasker,
  numberFlag,
  openTasker,
  settingsFrom,
  type CliIo,
  type CommonFlags,
} from '../context.js';

export function registerWorker(program: Command, io: CliIo, common: (c: Command) => Command): void {
  common(program.command('worker').description('execute steps of tasks in the database until stopped'))
    .option('--concurrency <n>', 'steps running at once', (v) => Number(v))
    .action(async (o: CommonFlags & { concurrency?: number }) => {
      const concurrency =
        o.concurrency === undefined ? undefined : numberFlag('--concurrency', o.concurrency, 1, 10_000, true);
      const settings = settingsFrom(io, o, concurrency !== undefined ? { concurrency } : {});
      const tasker = await openTasker(io, settings, {
        templates: true,
        handlers: true,
        defaultLogLevel: 'info',
        push: true,
      });
      tasker.start();
      tasker.logger.info(
        { database: tasker.settings.storeLocation, handlers: tasker.catalog.handlerNames() },
        'worker running; Ctrl-C to stop',
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      tasker.logger.info('stopping: finishing running steps');
      await closeTasker(tasker);
    });
}
