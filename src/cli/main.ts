/**
 * The `tasker` command line: a thin client of the library API. Returns an exit code instead of calling
 * process.exit, so tests can run it in-process. Exit codes: 0 ok, 1 failure (bad input, task failed),
 * 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { TaskerError } from '../errors.js';
import type { CliIo } from './context.js';
import { registerDb } from './commands/db.js';
import { registerArchive } from './commands/prune.js';
import { registerDemo } from './commands/demo.js';
import { registerRun } from './commands/run.js';
import { registerServe } from './commands/serve.js';
import { registerTaskCommands } from './commands/tasks.js';
import { registerTriage } from './commands/triage.js';
import { registerValidate } from './commands/validate.js';
import { registerWorker } from './commands/worker.js';
import { packageInfo } from '../package-root.js';

function common(c: Command): Command {
  return c
    .option('--db <url>', 'database: sqlite:<path> (default sqlite:./.tasker/tasker.db)')
    .option('--templates <paths>', 'template file or folder (comma-separated for several)')
    .option('--handlers <module>', 'module exporting the step handlers')
    .option('--config <file>', 'settings file (default ./tasker.config.yaml)')
    .option('--log-level <level>', 'trace|debug|info|warn|error|silent')
    .option('--json', 'machine-readable output');
}

export async function main(argv: string[], io?: Partial<CliIo>): Promise<number> {
  const ctx: CliIo = {
    out: io?.out ?? ((t) => process.stdout.write(`${t}\n`)),
    err: io?.err ?? ((t) => process.stderr.write(`${t}\n`)),
    env: io?.env ?? process.env,
    cwd: io?.cwd ?? process.cwd(),
    exitCode: 0,
  };
  const program = new Command('tasker')
    .description('Tasker: durable, observable workflows from YAML task templates')
    .version(packageInfo().version)
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.out(s.trimEnd()), writeErr: (s) => ctx.err(s.trimEnd()) });
  registerValidate(program, ctx);
  registerRun(program, ctx, common);
  registerTaskCommands(program, ctx, common);
  registerTriage(program, ctx, common);
  registerWorker(program, ctx, common);
  registerDemo(program, ctx, common);
  registerDb(program, ctx, common);
  registerArchive(program, ctx, common);
  registerServe(program, ctx, common);

  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof TaskerError) {
      ctx.err(`tasker: ${err.message}`);
      return 1;
    }
    ctx.err(
      `tasker: unexpected error: ${err instanceof Error ? (ctx.env.TASKER_DEBUG ? err.stack : err.message) : String(err)}`,
    );
    return 1;
  }
}
