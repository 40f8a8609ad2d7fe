/**
 * The worker registry's cost, in one bench run: the single workload with the registry off and on, at the
 * default heartbeat (every lease/3 = 10 s: one upsert per run of this size) and at a heartbeat 60 times as
 * frequent (lease 0.5 s: every 167 ms), where the upserts would show if they cost anything. The two
 * variants of a pair differ only in the registry; their order alternates between runs, and the loss is
 * taken within a run, then the median.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { EngineJob, EngineResult, Sync } from './scenarios.js';
import { alternate, lossText, median, variantFigures, type VariantFigures } from './stats.js';

/**
 * What one heartbeat costs, measured directly (the throughput comparison cannot resolve a cost this small
 * through the machine's noise): the median time of a registry save on a SQLite file with the engine's
 * durability, and that as a share of the heartbeat interval.
 */
export function measureSave(sync: Sync, saves = 200): { medianMs: number; shareOfDefaultInterval: number } {
  const dir = mkdtempSync(join(tmpdir(), 'tasker-registry-'));
  const store = SqliteStore.open({ path: join(dir, 'tasker.db'), synchronous: sync });
  try {
    const times: number[] = [];
    for (let i = 0; i < saves; i++) {
      const now = Date.now();
      const t0 = performance.now();
      void store.saveWorker({
        id: 'bench-worker',
        host: 'bench',
        pid: process.pid,
        version: '0',
        startedAt: now,
        heartbeatAt: now,
        expiresAt: now + 30_000,
        stoppedAt: null,
        concurrency: 256,
        inFlight: i % 256,
        handlers: ['a', 'b', 'c', 'd', 'e'],
      });
      times.push(performance.now() - t0);
    }
    const m = median(times);
    return { medianMs: m, shareOfDefaultInterval: m / 10_000 };
  } finally {
    void store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Variant {
  key: string;
  label: string;
  registry: boolean;
  leaseSeconds?: number;
  baseline?: string;
}

const VARIANTS: Variant[] = [
  { key: 'off', label: 'registry off', registry: false },
  { key: 'on', label: 'registry on (heartbeat 10 s, the default)', registry: true, baseline: 'off' },
  { key: 'fast-off', label: 'lease 0.5 s, registry off', registry: false, leaseSeconds: 0.5 },
  {
    key: 'fast-on',
    label: 'lease 0.5 s, registry on (heartbeat 167 ms)',
    registry: true,
    leaseSeconds: 0.5,
    baseline: 'fast-off',
  },
];

export interface RegistryReport {
  description: string;
  save: { medianMs: number; shareOfDefaultInterval: number };
  variants: VariantFigures[];
}

export async function runRegistryComparison(
  o: { runs: number; tasks: number; concurrency: number; sync: Sync; stallMs: number },
  run: (job: EngineJob) => Promise<EngineResult>,
  progress: (line: string) => void,
): Promise<RegistryReport> {
  const got = await alternate(VARIANTS, o.runs, async (v, i) => {
    const r = await run({
      kind: 'engine',
      scenario: 'single',
      tasks: o.tasks,
      concurrency: o.concurrency,
      sync: o.sync,
      stallMs: o.stallMs,
      workerRegistry: v.registry,
      leaseSeconds: v.leaseSeconds,
    });
    progress(
      `registry run ${i + 1}/${o.runs}, ${v.label}: ${Math.round(r.stepsPerSec).toLocaleString('en-US')} steps/s`,
    );
    return r.stepsPerSec;
  });
  return {
    save: measureSave(o.sync),
    description: `one-step no-op tasks (${o.tasks.toLocaleString('en-US')}), concurrency ${o.concurrency}, sqlite_synchronous ${o.sync}`,
    variants: VARIANTS.map((v) => variantFigures(v, got)),
  };
}

export function formatRegistryReport(r: RegistryReport): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const lines = [`worker registry: ${r.description}`];
  for (const v of r.variants) {
    lines.push(
      `  ${v.label.padEnd(46)} ${n(v.median).padStart(7)} steps/s (runs ${v.stepsPerSec.map(n).join(', ')})${lossText(v)}`,
    );
  }
  lines.push(
    `  one registry save (a heartbeat): ${r.save.medianMs.toFixed(2)} ms (median of 200) = ${(r.save.shareOfDefaultInterval * 100).toFixed(3)} % of the default 10 s interval`,
  );
  lines.push('  goal: ≤ 1 % lost with the registry on (a negative loss is noise in the registry’s favour)');
  return lines.join('\n');
}
