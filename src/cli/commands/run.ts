/** `tasker run <namespace>/<name>[@version]`: create a task, optionally run it here and wait. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { TaskerError } from '../../errors.js';
import { taskJson } from '../../present/json.js';
import {
  numberFlag,
  closeTasker,
  openTasker,
  parseJsonFlag,
  settingsFrom,
  type CliIo,
  type CommonFlags,
} from '../context.js';
import { showTask } from './tasks.js';

export function parseTemplateRef(ref: string): { namespace: string; name: string; version?: string } {
  const m = /^([^/@\s]+)\/([^/@\s]+)(?:@(\S+))?$/.exec(ref);
  if (!m) {
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `"${ref}" is not a template reference; expected <namespace>/<name>[@version]`,
      { ref },
    );
  }
  return m[3]
    ? { namespace: m[1] as string, name: m[2] as string, version: m[3] }
    : { namespace: m[1] as string, name: m[2] as string };
}

function readContextFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new TaskerError(
      'INVALID_ARGUMENT',
      `--context-file: cannot read ${path} (${(err as Error).message})`,
      {
        flag: '--context-file',
      },
    );
  }
}

interface RunFlags extends CommonFlags {
  context?: string;
  contextFile?: string;
  wait?: boolean;
  timeout: string;
  correlationId?: string;
  idempotencyKey?: string;
  tag?: string[];
  json?: boolean;
}

export function registerRun(program: Command, io: CliIo, common: (c: Command) => Command): void {
  common(program.command('run <template>').description('create a task from <namespace>/<name>[@version]'))
    .option('--context <json>', 'the task context (a JSON object)', '{}')
    .option('--context-file <path>', 'read the context from a JSON file')
    .option('--wait', 'run it in this process (with --handlers) or wait for a worker, then show it')
    .option('--timeout <seconds>', 'with --wait: give up after this long', '300')
    .option('--correlation-id <id>', 'correlation id (generated when omitted)')
    .option('--idempotency-key <key>', 'return the existing task if this key was used before')
    .option('--tag <tag...>', 'tags')
    .action(async (ref: string, o: RunFlags) => {
      const target = parseTemplateRef(ref);
      const timeoutMs = numberFlag('--timeout', o.timeout, 0.001, 86_400) * 1000;
      const text = o.contextFile ? readContextFile(o.contextFile) : (o.context ?? '{}');
      const context = parseJsonFlag(o.contextFile ? `--context-file ${o.contextFile}` : '--context', text);
      if (typeof context !== 'object' || context === null || Array.isArray(context)) {
        throw new TaskerError(
          'INVALID_ARGUMENT',
          '--context must be a JSON object, e.g. {"order_id": "A1"}',
          { flag: '--context' },
        );
      }
      const settings = settingsFrom(io, o);
      const runHere = Boolean(o.wait && settings.handlers);
      const tasker = await openTasker(io, settings, { templates: true, handlers: runHere });
      try {
        const { task, created } = await tasker.createTask({
          ...target,
          context: context as Record<string, unknown>,
          correlationId: o.correlationId,
          idempotencyKey: o.idempotencyKey,
          tags: o.tag,
        });
        if (!o.wait) {
          if (o.json) io.out(JSON.stringify({ ...taskJson(task, tasker.redactor), created }, null, 2));
          else
            io.out(
              `${created ? 'created' : 'exists (idempotency key)'} task ${task.id} (${task.status}), correlation id ${task.correlationId}`,
            );
          return;
        }
        if (runHere) tasker.start();
        const done = await tasker.waitForTask(task.id, { timeoutMs });
        await showTask(io, tasker, task.id, o.json);
        if (done.status !== 'complete') io.exitCode = 1;
      } finally {
        await closeTasker(tasker);
      }
    });
}
