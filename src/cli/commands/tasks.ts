/** Read and operate on existing tasks: tasks, show, retry, cancel, resolve. */
import type { Command } from 'commander';
import type { TaskState } from '../../core/states.js';
import { TASK_STATUS_WORDS, taskStateOf } from '../../core/status-words.js';
import { TaskerError } from '../../errors.js';
import { taskDetailJson, taskJson } from '../../present/json.js';
import {
  numberFlag,
  closeTasker,
  openTasker,
  parseJsonFlag,
  settingsFrom,
  type CliIo,
  type CommonFlags,
} from '../context.js';
import { taskRows, taskTree } from '../format.js';
import { ApiClient, remoteTaskRows, remoteTaskTree, type RemoteFlags } from '../remote.js';
import type { Tasker } from '../../tasker.js';
import { cliActor } from './triage.js';

type Flags = CommonFlags & RemoteFlags & { json?: boolean };

/** --url/--token: the command talks to a running server's API instead of the database. */
export function remote(c: Command): Command {
  return c
    .option(
      '--url <url>',
      'a Tasker API to talk to instead of the database (TASKER_URL), e.g. http://127.0.0.1:3000/tasker',
    )
    .option('--token <token>', 'bearer token for --url (TASKER_TOKEN)');
}

const enc = encodeURIComponent;

export async function withTasker<T>(
  io: CliIo,
  flags: CommonFlags,
  fn: (t: Tasker) => Promise<T>,
): Promise<T> {
  const tasker = await openTasker(io, settingsFrom(io, flags));
  try {
    return await fn(tasker);
  } finally {
    await closeTasker(tasker);
  }
}

function statuses(values: string[] | undefined): TaskState[] | undefined {
  if (!values || values.length === 0) return undefined;
  return values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean)
    .map((s) => {
      const state = taskStateOf(s);
      if (state === undefined)
        throw new TaskerError(
          'INVALID_ARGUMENT',
          `--status: unknown status "${s}"; expected one of ${TASK_STATUS_WORDS.join(', ')}`,
          { flag: '--status' },
        );
      return state;
    });
}

async function showTask(io: CliIo, tasker: Tasker, id: string, json: boolean | undefined): Promise<void> {
  const d = await tasker.getTask(id);
  if (json)
    io.out(
      JSON.stringify(
        taskDetailJson(d, d.attempts, await tasker.getTransitions(id), tasker.redactor),
        null,
        2,
      ),
    );
  else io.out(taskTree(d));
}

export function registerTaskCommands(program: Command, io: CliIo, common: (c: Command) => Command): void {
  remote(common(program.command('tasks').description('list tasks, newest first')))
    .option(
      '--status <status...>',
      `filter by status (${TASK_STATUS_WORDS.join('|')}); repeatable or comma-separated`,
    )
    .option('--namespace <ns>', 'filter by namespace')
    .option('--name <name>', 'filter by template name')
    .option('--version <version>', 'filter by template version')
    .option('--correlation-id <id>', 'filter by correlation id')
    .option('--tag <tag>', 'filter by tag')
    .option('--limit <n>', 'page size (1–1000)', '50')
    .option('--cursor <cursor>', 'next page, from a previous --json next_cursor')
    .action(async (o: Flags & Record<string, string | string[] | undefined>) => {
      const limit = numberFlag('--limit', o.limit, 1, 1000, true);
      const api = ApiClient.from(io, o);
      if (api) {
        const q = new URLSearchParams({ limit: String(limit) });
        for (const s of statuses(o.status as string[] | undefined) ?? []) q.append('status', s);
        const pairs: Array<[string, unknown]> = [
          ['namespace', o.namespace],
          ['name', o.name],
          ['version', o.version],
          ['correlation_id', o.correlationId],
          ['tag', o.tag],
          ['cursor', o.cursor],
        ];
        for (const [k, v] of pairs) if (typeof v === 'string') q.set(k, v);
        const page = await api.request('GET', `/tasks?${q.toString()}`);
        const tasks = (page.tasks ?? []) as Array<Record<string, unknown>>;
        if (o.json) io.out(JSON.stringify(page, null, 2));
        else {
          io.out(tasks.length ? remoteTaskRows(tasks) : 'no tasks match');
          if (typeof page.next_cursor === 'string') io.out(`more: --cursor ${page.next_cursor}`);
        }
        return;
      }
      await withTasker(io, o, async (t) => {
        const page = await t.listTasks({
          status: statuses(o.status as string[] | undefined),
          namespace: o.namespace as string | undefined,
          name: o.name as string | undefined,
          version: o.version as string | undefined,
          correlationId: o.correlationId as string | undefined,
          tag: o.tag as string | undefined,
          limit,
          cursor: o.cursor as string | undefined,
        });
        if (o.json)
          io.out(
            JSON.stringify(
              { tasks: page.tasks.map((x) => taskJson(x, t.redactor)), next_cursor: page.nextCursor },
              null,
              2,
            ),
          );
        else {
          io.out(page.tasks.length ? taskRows(page.tasks) : 'no tasks match');
          if (page.nextCursor) io.out(`more: --cursor ${page.nextCursor}`);
        }
      });
    });

  remote(
    common(
      program
        .command('show <task-id>')
        .description('show a task: steps in DAG order, attempts, errors, what blocks it'),
    ),
  ).action(async (id: string, o: Flags) => {
    const api = ApiClient.from(io, o);
    if (!api) return withTasker(io, o, (t) => showTask(io, t, id, o.json));
    const d = await api.request(
      'GET',
      `/tasks/${enc(id)}?include_dependencies=true&include_business_metrics=true`,
    );
    io.out(o.json ? JSON.stringify(d, null, 2) : remoteTaskTree(d));
  });

  remote(
    common(
      program
        .command('retry <task-id>')
        .description('retry a failed task: failed steps get a fresh attempt budget'),
    ),
  ).action(async (id: string, o: Flags) => {
    const api = ApiClient.from(io, o);
    if (api) {
      const d = await api.request('POST', `/tasks/${enc(id)}/retry`, {});
      io.out(
        o.json ? JSON.stringify(d, null, 2) : `task ${id} is ${String(d.status)}; a worker will pick it up`,
      );
      return;
    }
    return withTasker(io, o, async (t) => {
      const s = await t.retryTask(id, null, { actor: cliActor() });
      io.out(
        o.json
          ? JSON.stringify(taskJson(s.task, t.redactor), null, 2)
          : `task ${id} is ${s.task.status}; a worker will pick it up`,
      );
    });
  });

  remote(common(program.command('cancel <task-id>').description('cancel a task and every unfinished step')))
    .option('--reason <text>', 'recorded in the audit trail')
    .action(async (id: string, o: Flags & { reason?: string }) => {
      const api = ApiClient.from(io, o);
      if (api) {
        const d = await api.request('POST', `/tasks/${enc(id)}/cancel`, o.reason ? { reason: o.reason } : {});
        io.out(o.json ? JSON.stringify(d, null, 2) : `task ${id} is ${String(d.status)}`);
        return;
      }
      return withTasker(io, o, async (t) => {
        const s = await t.cancelTask(id, o.reason ?? null, { actor: cliActor() });
        io.out(
          o.json ? JSON.stringify(taskJson(s.task, t.redactor), null, 2) : `task ${id} is ${s.task.status}`,
        );
      });
    });

  common(
    program.command('resolve <task-id> <step>').description('resolve a step by hand so its dependants run'),
  )
    .option('--results <json>', 'the step results to record', 'null')
    .action(async (id: string, step: string, o: Flags & { results: string }) =>
      withTasker(io, o, async (t) => {
        const s = await t.resolveStep(id, step, parseJsonFlag('--results', o.results), { actor: cliActor() });
        io.out(
          o.json
            ? JSON.stringify(taskJson(s.task, t.redactor), null, 2)
            : `step ${step} resolved; task ${id} is ${s.task.status}`,
        );
      }),
    );
}

export { showTask };
