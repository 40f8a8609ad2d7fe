/**
 * Incident triage from the terminal: `tasker triage` (failure groups), `tasker bulk` (dry run, job,
 * progress), `tasker audit`, `tasker compare`. Locally the engine's results go through the API's
 * presenters, so `--json` reads the same with or without `--url`.
 */
import type { Command } from 'commander';
import { userInfo } from 'node:os';
import type { BulkActionSpec } from '../../core/bulk-plan.js';
import { TaskerError } from '../../errors.js';
import {
  presentAudit,
  presentComparison,
  presentGroup,
  presentItem,
  presentJob,
  presentPreview,
} from '../../api/present-triage.js';
import { parseRange } from '../../api/params.js';
import type { Tasker } from '../../tasker.js';
import type { BulkFilter } from '../../triage/bulk-actions.js';
import { numberFlag, parseJsonFlag, type CliIo, type CommonFlags } from '../context.js';
import { table } from '../format.js';
import { ApiClient, type RemoteFlags } from '../remote.js';
import { remote, withTasker } from './tasks.js';

type Flags = CommonFlags & RemoteFlags & { json?: boolean };
type Json = Record<string, unknown>;

/** Who a local CLI user is in the audit log. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

const money = (n: unknown) =>
  typeof n === 'number' ? `$${n.toLocaleString('en-US', { maximumFractionDigits: 2 })}` : '-';
/** A JSON field as text ('' when absent). */
const text = (v: unknown, dflt = ''): string =>
  v === null || v === undefined
    ? dflt
    : typeof v === 'string'
      ? v
      : typeof v === 'number'
        ? String(v)
        : JSON.stringify(v);
const qs = (o: Record<string, string | number | undefined>) =>
  Object.entries(o)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join('&');

function groupsText(r: Json): string {
  const groups = (r.groups ?? []) as Json[];
  if (groups.length === 0) return `no failures in ${String(r.time_range)}`;
  const rows = groups.map((g, i) => [
    String(i + 1),
    money(g.revenue_at_risk),
    String(g.tasks),
    g.ongoing ? 'yes' : 'no',
    String(g.template),
    String(g.step),
    text(g.error_type, '-'),
    String(g.signature).slice(0, 60),
    String(g.fingerprint),
  ]);
  const top = groups[0] ?? {};
  return [
    `${String(r.total_tasks)} tasks in ${groups.length} groups, ${money(r.revenue_at_risk)} at risk (${String(r.time_range)})`,
    table(['#', 'at risk', 'tasks', 'ongoing', 'template', 'step', 'error', 'signature', 'group'], rows),
    `top: ${String(top.suggested_action)}`,
    `examples: ${((top.example_task_ids ?? []) as string[]).join(', ')}`,
  ].join('\n');
}

function previewText(p: Json): string {
  const steps = p.steps as Record<string, Record<string, number>>;
  const lines = [
    `dry run: ${String(p.action)} would change ${String(p.would_change)} of ${String(p.matched)} matched tasks (max ${String(p.max_tasks)})${p.exceeds_max_tasks ? ' — MORE THAN max_tasks: a real run is refused' : ''}`,
  ];
  for (const [what, counts] of Object.entries(steps))
    lines.push(
      `  ${what}: ${
        Object.entries(counts)
          .map(([s, n]) => `${s} ×${n}`)
          .join(', ') || '-'
      }`,
    );
  if (Number(p.hidden) > 0)
    lines.push(`  ${String(p.hidden)} tasks in namespaces you may not act in were left out`);
  const skipped = p.skipped as Json[];
  if (skipped.length > 0) {
    lines.push(`  skipped ${String(p.skipped_count)}:`);
    for (const s of skipped.slice(0, 20))
      lines.push(`    ${String(s.task_id)}  ${String(s.reason)}: ${String(s.message)}`);
  }
  lines.push('run it without --dry-run to act');
  return lines.join('\n');
}

function jobText(j: Json): string {
  return `bulk job ${String(j.id)}: ${String(j.action)} ${String(j.status)} — ${String(j.done)} done, ${String(j.skipped)} skipped, ${String(j.failed)} failed, ${String(j.pending)} pending of ${String(j.total)}`;
}

export function registerTriage(program: Command, io: CliIo, common: (c: Command) => Command): void {
  remote(
    common(
      program
        .command('triage')
        .description('failures of a time window grouped by cause, ranked by revenue at risk'),
    ),
  )
    .option('--time-range <range>', 'e.g. 15m, 1h, 24h', '1h')
    .option('--namespace <ns>')
    .option('--name <name>')
    .action(async (o: Flags & { timeRange: string; namespace?: string; name?: string }) => {
      const api = ApiClient.from(io, o);
      const r = api
        ? await api.request(
            'GET',
            `/analytics/failure-groups?${qs({ time_range: o.timeRange, namespace: o.namespace, name: o.name })}`,
          )
        : await withTasker(io, o, async (t) => {
            const rep = await t.failureGroups({
              rangeMs: parseRange('--time-range', o.timeRange, '1h'),
              namespace: o.namespace,
              name: o.name,
            });
            const groups = rep.groups.map((g) => presentGroup(g, () => null));
            return {
              time_range: `${new Date(rep.from).toISOString()} to ${new Date(rep.to).toISOString()}`,
              total_tasks: rep.groups.reduce((n, g) => n + g.tasks, 0),
              revenue_at_risk: Math.round(rep.groups.reduce((n, g) => n + g.revenueAtRisk, 0) * 100) / 100,
              groups,
            };
          });
      io.out(o.json ? JSON.stringify(r, null, 2) : groupsText(r));
    });

  const bulk = program
    .command('bulk')
    .description('retry, cancel or resolve a step of many tasks (dry run first)');
  for (const action of ['retry', 'cancel', 'resolve-step'] as const) {
    remote(
      common(bulk.command(action).description(`${action.replace('-', ' ')} every task the filter selects`)),
    )
      .option('--group <fingerprint>', 'a failure group (tasker triage)')
      .option('--time-range <range>', 'the failure group’s window', '1h')
      .option('--status <status>', 'list filter (repeatable)', (v: string, p: string[] = []) => [...p, v])
      .option('--namespace <ns>')
      .option('--name <name>')
      .option('--task <id>', 'a task id (repeatable)', (v: string, p: string[] = []) => [...p, v])
      .option('--step <name>', 'resolve-step: the step to resolve')
      .option('--results <json>', 'resolve-step: the results it should have produced')
      .requiredOption('--reason <text>', 'why (kept in the audit log)')
      .option('--dry-run', 'show what would change; change nothing')
      .option('--max-tasks <n>', 'refuse if more tasks would change', '1000')
      .option('--rate <n>', 'tasks per second', '50')
      .action(
        async (
          o: Flags & {
            group?: string;
            timeRange: string;
            status?: string[];
            namespace?: string;
            name?: string;
            task?: string[];
            step?: string;
            results?: string;
            reason: string;
            dryRun?: boolean;
            maxTasks: string;
            rate: string;
          },
        ) => {
          const act = action === 'resolve-step' ? 'resolve_step' : action;
          if (act === 'resolve_step' && !o.step)
            throw new TaskerError('INVALID_ARGUMENT', '--step: required for resolve-step', {
              flag: '--step',
            });
          const maxTasks = numberFlag('--max-tasks', o.maxTasks, 1, 10_000, true);
          const rate = numberFlag('--rate', o.rate, 0.1, 1000);
          const results = o.results === undefined ? undefined : parseJsonFlag('--results', o.results);
          const api = ApiClient.from(io, o);
          if (api) {
            const body = {
              action: act,
              filter: {
                failure_group: o.group,
                time_range: o.group ? o.timeRange : undefined,
                status: o.status,
                namespace: o.namespace,
                name: o.name,
                task_ids: o.task,
              },
              reason: o.reason,
              dry_run: o.dryRun === true,
              ...(act === 'resolve_step' ? { step: o.step, results } : {}),
              max_tasks: maxTasks,
              rate_per_second: rate,
            };
            const r = await api.request('POST', '/bulk-actions', body);
            if (o.json) io.out(JSON.stringify(r, null, 2));
            else
              io.out(
                o.dryRun
                  ? previewText(r)
                  : `${jobText(r.job as Json)}\nfollow it: tasker bulk show ${String((r.job as Json).id)}`,
              );
            return;
          }
          await withTasker(io, o, async (t) => {
            const spec: BulkActionSpec =
              act === 'resolve_step'
                ? { action: act, step: o.step ?? '', results: results ?? null }
                : { action: act };
            const filter: BulkFilter = {
              failureGroup: o.group,
              rangeMs: o.group ? parseRange('--time-range', o.timeRange, '1h') : undefined,
              status: o.status as BulkFilter['status'],
              namespace: o.namespace,
              name: o.name,
              taskIds: o.task,
            };
            const req = { spec, filter, reason: o.reason, maxTasks, ratePerSecond: rate, actor: cliActor() };
            if (o.dryRun) {
              const p = presentPreview(await t.previewBulkAction(req));
              io.out(o.json ? JSON.stringify(p, null, 2) : previewText(p));
              return;
            }
            // Locally the job runs in this process: wait for it (another process takes it over if this one dies).
            const job = await t.startBulkAction(req);
            const final = await waitForJob(t, job.id, (j) => {
              if (!o.json) io.err(jobText(presentJob(j)));
            });
            io.out(o.json ? JSON.stringify({ job: presentJob(final) }, null, 2) : jobText(presentJob(final)));
          });
        },
      );
  }

  remote(
    common(bulk.command('show <job-id>').description('a bulk job’s progress and the outcome per task')),
  ).action(async (id: string, o: Flags) => {
    const api = ApiClient.from(io, o);
    const r = api
      ? await api.request('GET', `/bulk-actions/${encodeURIComponent(id)}`)
      : await withTasker(io, o, async (t) => {
          const { job, items } = await t.getBulkJob(id);
          return { job: presentJob(job), tasks: items.map(presentItem) };
        });
    if (o.json) return io.out(JSON.stringify(r, null, 2));
    const tasks = r.tasks as Json[];
    io.out(
      [
        jobText(r.job as Json),
        table(
          ['task', 'outcome', 'at', 'message'],
          tasks.map((x) => [String(x.task_id), String(x.status), text(x.at, '-'), text(x.message)]),
        ),
      ].join('\n'),
    );
  });

  remote(common(program.command('audit').description('the audit log of operator actions, newest first')))
    .option('--task <id>')
    .option('--actor <name>')
    .option('--action <action>', 'e.g. task.retry, bulk.retry')
    .option('--outcome <outcome>', 'ok, refused or failed')
    .option('--limit <n>', 'entries', '50')
    .action(
      async (
        o: Flags & { task?: string; actor?: string; action?: string; outcome?: string; limit: string },
      ) => {
        const limit = numberFlag('--limit', o.limit, 1, 500, true);
        if (o.outcome !== undefined && !['ok', 'refused', 'failed'].includes(o.outcome))
          throw new TaskerError(
            'INVALID_ARGUMENT',
            `--outcome: expected ok, refused or failed, got "${o.outcome}"`,
            {
              flag: '--outcome',
            },
          );
        const api = ApiClient.from(io, o);
        const r = api
          ? await api.request(
              'GET',
              `/audit?${qs({ task_id: o.task, actor: o.actor, action: o.action, outcome: o.outcome, limit })}`,
            )
          : await withTasker(io, o, async (t) => ({
              entries: (
                await t.listAudit({
                  taskId: o.task,
                  actor: o.actor,
                  action: o.action,
                  outcome: o.outcome as 'ok' | undefined,
                  limit,
                })
              ).map(presentAudit),
            }));
        if (o.json) return io.out(JSON.stringify(r, null, 2));
        const entries = r.entries as Json[];
        io.out(
          entries.length === 0
            ? 'no audit entries match'
            : table(
                ['at', 'actor', 'action', 'outcome', 'tasks', 'reason'],
                entries.map((e) => [
                  String(e.at),
                  String(e.actor),
                  String(e.action),
                  String(e.outcome),
                  String(e.task_count),
                  text(e.reason ?? (e.detail as Json | null)?.message),
                ]),
              ),
        );
      },
    );

  remote(
    common(program.command('compare <task-id>').description('a run against its last good run, step by step')),
  )
    .option('--with <task-id>', 'compare with this task instead of the last completed one')
    .action(async (id: string, o: Flags & { with?: string }) => {
      const api = ApiClient.from(io, o);
      const r = api
        ? await api.request(
            'GET',
            `/tasks/${encodeURIComponent(id)}/compare?${qs({ with: o.with ?? 'last_success' })}`,
          )
        : await withTasker(io, o, async (t) =>
            presentComparison(await t.compareTask(id, o.with ? { taskId: o.with } : 'last_success')),
          );
      if (o.json) return io.out(JSON.stringify(r, null, 2));
      const diffs = r.differences as Json[];
      io.out(
        [
          String(r.note),
          ...(diffs.length ? diffs.map((d) => `- ${String(d.text)}`) : ['no notable differences']),
        ].join('\n'),
      );
    });
}

async function waitForJob(
  t: Tasker,
  id: string,
  onProgress: (j: Awaited<ReturnType<Tasker['getBulkJob']>>['job']) => void,
) {
  let last = -1;
  for (;;) {
    const { job } = await t.getBulkJob(id);
    const n = job.counts.done + job.counts.skipped + job.counts.failed;
    if (n !== last) onProgress(job);
    last = n;
    if (job.status !== 'running') return job;
    await new Promise((r) => setTimeout(r, 200));
  }
}
