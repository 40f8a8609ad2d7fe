/**
 * Retention's cost under load, in one bench run: the single workload on a store that also holds old
 * finished tasks, without a prune, with a prune deleting them, with one archiving then deleting them (the
 * defaults: batches of 100, rests of at least 500 ms, 5 % of the time while the engine works), and with a
 * prune that does not yield to the engine (busy_share 1: the rest an idle engine gets) while the run is
 * timed. The variants differ only in the prune; their order alternates between runs, and the loss is
 * taken within a run, then the median.
 */
import type { EngineJob, EngineResult, Sync } from './scenarios.js';
import { alternate, lossText, median, variantFigures, type VariantFigures } from './stats.js';

interface Variant {
  key: string;
  label: string;
  whileRunning: boolean;
  archive?: boolean;
  busyShare?: number;
  baseline?: string;
}

const VARIANTS: Variant[] = [
  { key: 'idle', label: 'old tasks stored, no prune', whileRunning: false },
  { key: 'pruning', label: 'a prune deleting them', whileRunning: true, baseline: 'idle' },
  {
    key: 'archiving',
    label: 'a prune archiving, then deleting them',
    whileRunning: true,
    archive: true,
    baseline: 'idle',
  },
  {
    key: 'unyielding',
    label: 'a prune not yielding (busy_share 1)',
    whileRunning: true,
    busyShare: 1,
    baseline: 'idle',
  },
];

export interface PruneBenchReport {
  description: string;
  variants: Array<
    VariantFigures & {
      /** Old tasks deleted while the run was timed, per run. */
      pruned: number[];
      /** Tasks deleted per second of the timed run (median). */
      prunedPerSec: number;
    }
  >;
}

export async function runPruneComparison(
  o: { runs: number; tasks: number; oldTasks: number; concurrency: number; sync: Sync; stallMs: number },
  run: (job: EngineJob) => Promise<EngineResult>,
  progress: (line: string) => void,
): Promise<PruneBenchReport> {
  const pruned = new Map<string, number[]>(VARIANTS.map((v) => [v.key, []]));
  const rates = new Map<string, number[]>(VARIANTS.map((v) => [v.key, []]));
  const got = await alternate(VARIANTS, o.runs, async (v, i) => {
    const r = await run({
      kind: 'engine',
      scenario: 'single',
      tasks: o.tasks,
      concurrency: o.concurrency,
      sync: o.sync,
      stallMs: o.stallMs,
      prune: {
        oldTasks: o.oldTasks,
        whileRunning: v.whileRunning,
        archive: v.archive,
        busyShare: v.busyShare,
      },
    });
    pruned.get(v.key)?.push(r.prunedInRun ?? 0);
    rates.get(v.key)?.push((r.prunedInRun ?? 0) / r.runSeconds);
    progress(
      `prune run ${i + 1}/${o.runs}, ${v.label}: ${Math.round(r.stepsPerSec).toLocaleString('en-US')} steps/s, ${r.prunedInRun ?? 0} old tasks deleted meanwhile`,
    );
    return r.stepsPerSec;
  });
  return {
    description: `one-step no-op tasks (${o.tasks.toLocaleString('en-US')}), concurrency ${o.concurrency}, sqlite_synchronous ${o.sync}, on a store holding ${o.oldTasks.toLocaleString('en-US')} one-step tasks finished 40 days ago`,
    variants: VARIANTS.map((v) => ({
      ...variantFigures(v, got),
      pruned: pruned.get(v.key) ?? [],
      prunedPerSec: median(rates.get(v.key) ?? []),
    })),
  };
}

export function formatPruneReport(r: PruneBenchReport): string {
  const lines = [`prune: ${r.description}`];
  for (const v of r.variants) {
    const runs = v.stepsPerSec.map((x) => Math.round(x).toLocaleString('en-US')).join(', ');
    const deleted = v.pruned.some((x) => x > 0)
      ? `; deleted ${v.pruned.join(', ')} old tasks meanwhile (${Math.round(v.prunedPerSec).toLocaleString('en-US')}/s)`
      : '';
    lines.push(
      `  ${v.label.padEnd(42)} ${Math.round(v.median).toLocaleString('en-US').padStart(7)} steps/s (runs ${runs})${lossText(v)}${deleted}`,
    );
  }
  lines.push(
    '  goal: ≤ 5 % lost while pruning (defaults: batches of 100 tasks, rests of at least 500 ms, busy_share 0.05)',
  );
  return lines.join('\n');
}
