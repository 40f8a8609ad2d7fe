/** `tasker db prune`: delete what the retention policy no longer keeps, or (--dry-run) say what would go. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { retentionClass, type RetentionClass } from '../../core/retention.js';
import { ageArgument, type PruneReport } from '../../engine/pruner.js';
import {
  closeTasker,
  numberFlag,
  openTasker,
  settingsFrom,
  type CliIo,
  type CommonFlags,
} from '../context.js';

type Flags = CommonFlags & {
  json?: boolean;
  dryRun?: boolean;
  olderThan?: string;
  status?: string;
  namespace?: string;
  batchSize?: string;
  pauseMs?: string;
  busyShare?: string;
  maxTasks?: string;
  archive?: string;
};

function classes(text: string | undefined): RetentionClass[] | undefined {
  if (text === undefined) return undefined;
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => retentionClass(s, '--status'));
}

export function describePrune(r: PruneReport, location: string): string {
  if (r.skipped !== null)
    return `${location}: nothing done: ${r.skipped} (on PostgreSQL one process prunes at a time)`;
  const verb = r.dryRun ? 'would delete' : 'deleted';
  const lines = [
    `${r.dryRun ? 'dry run: nothing deleted. ' : ''}${location}: ${verb} ${r.tasks} finished task(s)` +
      ` and ${r.audit} audit entr${r.audit === 1 ? 'y' : 'ies'}` +
      (r.dryRun ? '' : ` in ${r.batches} batch(es), ${r.seconds.toFixed(2)} s`),
  ];
  if (r.busyBatches > 0)
    lines.push(
      `the engine was working: ${r.busyBatches} batch(es) followed by a longer rest (retention.busy_share)`,
    );
  lines.push('rules:');
  for (const rule of r.rules) {
    const own = r.rules.some((x) => x.class === rule.class && x.name !== null);
    const scope = rule.name
      ? `${rule.namespace}/${rule.name}`
      : `${own ? 'other templates' : 'all templates'}${rule.namespace ? ` of ${rule.namespace}` : ''}`;
    const what = rule.age === 'never' ? 'kept for ever' : `finished more than ${rule.age} ago`;
    lines.push(`  ${rule.class.padEnd(9)} ${what.padEnd(28)} (${rule.from}: ${scope})`);
  }
  for (const f of r.archiveFiles) lines.push(`archived to ${f}`);
  if (r.byTemplate.length > 0) {
    lines.push(`${r.dryRun ? 'would go' : 'gone'}:`);
    for (const row of r.byTemplate)
      lines.push(`  ${String(row.count).padStart(8)}  ${row.namespace}/${row.name}  ${row.status}`);
  }
  return lines.join('\n');
}

/** `tasker archive import FILE…`: archived tasks back into the store, for an investigation. */
export function registerArchive(program: Command, io: CliIo, common: (c: Command) => Command): void {
  const archive = program.command('archive').description('archive files written by pruning: import');
  common(
    archive
      .command('import')
      .argument(
        '<files...>',
        'archive files (.jsonl.gz) written by tasker db prune --archive or retention.archive_dir',
      )
      .description(
        'load archived tasks back into the store, whole and as archived; tasks already there are skipped',
      ),
  ).action(async (files: string[], o: CommonFlags & { json?: boolean }) => {
    const tasker = await openTasker(io, settingsFrom(io, o), { defaultLogLevel: 'warn' });
    try {
      const results = [];
      for (const f of files) results.push(await tasker.importArchive(resolve(io.cwd, f)));
      io.out(
        o.json
          ? JSON.stringify(results, null, 2)
          : results
              .map(
                (r) =>
                  `${r.file}: ${r.imported.length} of ${r.tasks} task(s) imported, ${r.skipped.length} already there`,
              )
              .join('\n'),
      );
    } finally {
      await closeTasker(tasker);
    }
  });
}

export function registerPrune(db: Command, io: CliIo, common: (c: Command) => Command): void {
  common(
    db
      .command('prune')
      .description(
        'delete finished tasks (whole) and audit entries older than the retention policy keeps; never a pending or running task',
      ),
  )
    .option('--dry-run', 'count what would be deleted, by template and status; delete nothing')
    .option('--older-than <age>', 'one age for every class and template instead of the policy, e.g. 30d')
    .option('--status <classes>', 'only these: completed, failed, cancelled (comma-separated)')
    .option('--namespace <ns>', 'only tasks of this namespace')
    .option('--batch-size <n>', 'tasks deleted per transaction (1–10000; default retention.batch_size)')
    .option('--pause-ms <ms>', 'pause between batches (0–60000; default retention.batch_pause_ms)')
    .option(
      '--busy-share <share>',
      'while the engine works, the most of the time the prune takes (0.01–1; default retention.busy_share)',
    )
    .option('--max-tasks <n>', 'stop after this many tasks')
    .option(
      '--archive <dir>',
      'first write each batch, whole and redacted, to a gzip JSON Lines file in <dir>',
    )
    .action(async (o: Flags) => {
      if (o.olderThan !== undefined) ageArgument(o.olderThan, '--older-than');
      const options = {
        dryRun: o.dryRun === true,
        olderThan: o.olderThan,
        status: classes(o.status),
        namespace: o.namespace,
        archiveDir: o.archive === undefined ? undefined : resolve(io.cwd, o.archive),
        batchSize:
          o.batchSize === undefined ? undefined : numberFlag('--batch-size', o.batchSize, 1, 10_000, true),
        pauseMs: o.pauseMs === undefined ? undefined : numberFlag('--pause-ms', o.pauseMs, 0, 60_000, true),
        busyShare: o.busyShare === undefined ? undefined : numberFlag('--busy-share', o.busyShare, 0.01, 1),
        maxTasks:
          o.maxTasks === undefined
            ? undefined
            : numberFlag('--max-tasks', o.maxTasks, 1, Number.MAX_SAFE_INTEGER, true),
      };
      // Templates are loaded: their own retention overrides the policy for their tasks.
      const tasker = await openTasker(io, settingsFrom(io, o), { templates: true, defaultLogLevel: 'warn' });
      try {
        const report = await tasker.prune(options);
        if (report.skipped !== null) io.exitCode = 1;
        io.out(
          o.json
            ? JSON.stringify({ location: tasker.settings.storeLocation, ...report }, null, 2)
            : describePrune(report, tasker.settings.storeLocation),
        );
      } finally {
        await closeTasker(tasker);
      }
    });
}
