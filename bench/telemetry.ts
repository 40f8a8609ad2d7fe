/**
 * Telemetry on vs off, in one bench run: the single-step workload with everything off, then with JSON
 * logs to a file, OTLP/HTTP batch export of every span to a local receiver (in this parent process, as a
 * collector would be a separate process) and metrics on. Runs alternate the order (off→on, on→off, …) so
 * drift of the machine does not favour one side; the ratio is taken per pair, then the median.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EngineJob, EngineResult, Sync } from './scenarios.js';
import { median } from './stats.js';

export interface TelemetryReport {
  description: string;
  offStepsPerSec: number[];
  onStepsPerSec: number[];
  lossPct: number[];
  medianOff: number;
  medianOn: number;
  medianLossPct: number;
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
  const sink = await startSink();
  try {
    const job = (mode: 'off' | 'on'): EngineJob => ({
      kind: 'engine',
      scenario: 'single',
      tasks: o.tasks,
      concurrency: o.concurrency,
      sync: o.sync,
      stallMs: o.stallMs,
      telemetry: { mode, otlpUrl: sink.url },
      profileDir: o.profileDir,
      profilePrefix: `telemetry-${mode}`,
    });
    const off: number[] = [];
    const on: number[] = [];
    const loss: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const order: Array<'off' | 'on'> = i % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
      const got: Record<string, number> = {};
      for (const mode of order) {
        const r = await run(job(mode));
        got[mode] = r.stepsPerSec;
        progress(
          `telemetry ${mode} run ${i + 1}/${o.runs}: ${Math.round(r.stepsPerSec).toLocaleString('en-US')} steps/s`,
        );
      }
      const a = got.off ?? NaN;
      const b = got.on ?? NaN;
      off.push(a);
      on.push(b);
      loss.push((1 - b / a) * 100);
    }
    const { spans, requests } = sink.counts();
    return {
      description: `${o.tasks.toLocaleString('en-US')} one-step tasks, concurrency ${o.concurrency}; on = JSON logs (info) to a file + OTLP/HTTP batch export of every span + metrics`,
      offStepsPerSec: off,
      onStepsPerSec: on,
      lossPct: loss,
      medianOff: median(off),
      medianOn: median(on),
      medianLossPct: median(loss),
      spansReceived: spans,
      exportRequests: requests,
    };
  } finally {
    await sink.close();
  }
}

export function formatTelemetryReport(r: TelemetryReport): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  return [
    `telemetry: ${r.description}`,
    `  off  ${n(r.medianOff)} steps/s (runs: ${r.offStepsPerSec.map(n).join(', ')})`,
    `  on   ${n(r.medianOn)} steps/s (runs: ${r.onStepsPerSec.map(n).join(', ')})`,
    `  throughput lost with telemetry on: median ${r.medianLossPct.toFixed(1)} % (per pair: ${r.lossPct.map((x) => x.toFixed(1)).join(', ')} %; goal ≤ 5 %)`,
    `  spans received by the OTLP receiver: ${n(r.spansReceived)} in ${n(r.exportRequests)} requests`,
  ].join('\n');
}
