/**
 * Telemetry on vs off, in one bench run. Two workloads: one-step tasks whose handler returns at once (the
 * engine's own cost is all there is to measure), and the same with 1 ms of CPU work per step. Modes: off
 * (no metrics, logs, tracing or performance monitoring); on (JSON logs at info to a file, every span
 * batch-exported over OTLP/HTTP to a receiver in this parent process — a collector is another process —
 * and metrics counted); and on with 10 % of tasks traced. Each run does every mode, in an order that
 * alternates between runs so the machine's drift does not favour one; ratios are taken within a run,
 * then the median.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EngineJob, EngineResult, Sync, TelemetryPart } from './scenarios.js';
import { alternate, lossAgainst, lossText, median } from './stats.js';

interface Variant {
  key: string;
  label: string;
  tasks: number;
  workMs: number;
  telemetry: { mode: 'off' | 'on'; traceSamplingRate?: number; only?: TelemetryPart };
  /** The variant this one's loss is measured against. */
  baseline?: string;
}

export interface TelemetryVariantReport {
  label: string;
  stepsPerSec: number[];
  median: number;
  /** Throughput lost against its baseline, % (per run, then the median). */
  lossPct?: number[] | undefined;
  medianLossPct?: number | undefined;
  /** Added CPU-side time per step against the baseline, µs (from the medians). */
  addedMicrosPerStep?: number | undefined;
  /**
   * CPU time of the process (every thread: garbage collection's helpers too) per step, µs, per run; less
   * sensitive than throughput to a noisy neighbour taking the machine's other core.
   */
  cpuMicrosPerStep: number[];
  /** Its median, and the median's excess over the baseline's. */
  medianCpuMicros: number;
  addedCpuMicros?: number | undefined;
}

export interface TelemetryReport {
  description: string;
  variants: TelemetryVariantReport[];
  spansReceived: number;
  exportRequests: number;
}

/** Counts what the exporter sends (spans by a cheap scan: one `"spanId"` per span in OTLP JSON). */
async function startSink() {
  let spans = 0;
  let requests = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      requests += 1;
      spans += body.split('"spanId"').length - 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    counts: () => ({ spans, requests }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export async function runTelemetryComparison(
  o: {
    runs: number;
    tasks: number;
    concurrency: number;
    sync: Sync;
    stallMs: number;
    profileDir?: string | undefined;
  },
  run: (job: EngineJob) => Promise<EngineResult>,
  progress: (line: string) => void,
): Promise<TelemetryReport> {
  const workTasks = Math.max(100, Math.round(o.tasks / 4));
  const variants: Variant[] = [
    {
      key: 'off',
      label: 'no-op steps, telemetry off',
      tasks: o.tasks,
      workMs: 0,
      telemetry: { mode: 'off' },
    },
    {
      key: 'on',
      label: 'no-op steps, telemetry on',
      tasks: o.tasks,
      workMs: 0,
      telemetry: { mode: 'on' },
      baseline: 'off',
    },
    {
      key: 'on10',
      label: 'no-op steps, telemetry on, 10 % of tasks traced',
      tasks: o.tasks,
      workMs: 0,
      telemetry: { mode: 'on', traceSamplingRate: 0.1 },
      baseline: 'off',
    },
    // Where the time goes: each part alone (performance monitoring off), against the same baseline.
    ...(['logs', 'metrics', 'traces'] as const).map((part): Variant => ({
      key: `only-${part}`,
      label: `no-op steps, ${part} only`,
      tasks: o.tasks,
      workMs: 0,
      telemetry: { mode: 'on', only: part },
      baseline: 'off',
    })),
    {
      key: 'work-off',
      label: '1 ms CPU steps, telemetry off',
      tasks: workTasks,
      workMs: 1,
      telemetry: { mode: 'off' },
    },
    {
      key: 'work-on',
      label: '1 ms CPU steps, telemetry on',
      tasks: workTasks,
      workMs: 1,
      telemetry: { mode: 'on' },
      baseline: 'work-off',
    },
  ];
  const sink = await startSink();
  const cpu = new Map<string, number[]>(variants.map((v) => [v.key, []]));
  try {
    const got = await alternate(variants, o.runs, async (v, i) => {
      const r = await run({
        kind: 'engine',
        scenario: 'single',
        tasks: v.tasks,
        concurrency: o.concurrency,
        sync: o.sync,
        stallMs: o.stallMs,
        workMs: v.workMs,
        telemetry: { ...v.telemetry, otlpUrl: sink.url },
        profileDir: o.profileDir,
        profilePrefix: `telemetry-${v.key}-run${i + 1}`,
      });
      progress(
        `telemetry run ${i + 1}/${o.runs}, ${v.label}: ${Math.round(r.stepsPerSec).toLocaleString('en-US')} steps/s`,
      );
      cpu.get(v.key)?.push((((r.cpuUserPct + r.cpuSystemPct) / 100) * r.runSeconds * 1e6) / r.steps);
      return r.stepsPerSec;
    });
    const { spans, requests } = sink.counts();
    return {
      description: `one-step tasks (${o.tasks.toLocaleString('en-US')} no-op, ${workTasks.toLocaleString('en-US')} with 1 ms of CPU), concurrency ${o.concurrency}; on = JSON logs (info) to a file + OTLP/HTTP batch export of every span + metrics`,
      variants: variants.map((v) => {
        const xs = got.get(v.key) ?? [];
        const base = v.baseline ? (got.get(v.baseline) ?? []) : undefined;
        const loss = base ? lossAgainst(xs, base) : undefined;
        const cpus = cpu.get(v.key) ?? [];
        const baseCpu = v.baseline ? median(cpu.get(v.baseline) ?? []) : undefined;
        return {
          cpuMicrosPerStep: cpus,
          medianCpuMicros: median(cpus),
          addedCpuMicros: baseCpu === undefined ? undefined : median(cpus) - baseCpu,
          label: v.label,
          stepsPerSec: xs,
          median: median(xs),
          lossPct: loss?.lossPct,
          medianLossPct: loss?.medianLossPct,
          addedMicrosPerStep: base ? 1e6 / median(xs) - 1e6 / median(base) : undefined,
        };
      }),
      spansReceived: spans,
      exportRequests: requests,
    };
  } finally {
    await sink.close();
  }
}

export function formatTelemetryReport(r: TelemetryReport): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const lines = [`telemetry: ${r.description}`];
  for (const v of r.variants) {
    const loss =
      v.medianLossPct === undefined
        ? ''
        : `${lossText(v)}, +${(v.addedMicrosPerStep ?? NaN).toFixed(1)} µs a step`;
    const added = v.addedCpuMicros === undefined ? '' : ` (+${v.addedCpuMicros.toFixed(1)})`;
    lines.push(
      `  ${v.label.padEnd(48)} ${n(v.median).padStart(7)} steps/s (runs ${v.stepsPerSec.map(n).join(', ')})${loss}`,
      `  ${''.padEnd(48)} CPU ${v.medianCpuMicros.toFixed(1)} µs a step${added} (runs ${v.cpuMicrosPerStep.map((x) => x.toFixed(1)).join(', ')})`,
    );
  }
  lines.push(`  goal: ≤ 10 % lost with telemetry on and every task traced (stretch: 5 %)`);
  lines.push(
    `  spans received by the OTLP receiver: ${n(r.spansReceived)} in ${n(r.exportRequests)} requests`,
  );
  return lines.join('\n');
}
