/**
 * Summarise a .cpuprofile (from `node --cpu-prof` or `bench --profile DIR`): the functions with the most
 * self time, and the same grouped by source file.
 *
 *   node dist/bench/cpuprofile-top.js FILE.cpuprofile [--top 30]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

function where(url: string): string {
  if (url === '') return '(native)';
  let path = url;
  if (url.startsWith('file://')) {
    try {
      path = relative(process.cwd(), fileURLToPath(url));
    } catch {
      path = url;
    }
  }
  return path.replace(/^.*node_modules\//, 'node_modules/');
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: { top: { type: 'string', default: '30' } },
    allowPositionals: true,
  });
  const file = positionals[0];
  if (file === undefined) {
    process.stderr.write('usage: node dist/bench/cpuprofile-top.js FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  const top = Number(values.top);
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = prof.samples ?? [];
  const deltas = prof.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i; attribute it to the next sample's node (as DevTools does).
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i];
    const dt = deltas[i + 1] ?? 0;
    if (id !== undefined) selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);

  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const f = n.callFrame;
    const loc = where(f.url);
    const name = `${f.functionName || '(anonymous)'}  ${loc}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    byFn.set(name, (byFn.get(name) ?? 0) + us);
    const group = f.url === '' ? f.functionName || '(native)' : loc;
    byFile.set(group, (byFile.get(group) ?? 0) + us);
  }
  const lines: string[] = [];
  const print = (title: string, m: Map<string, number>) => {
    lines.push('', title);
    const rows = [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
    for (const [name, us] of rows) {
      lines.push(
        `${(us / 1000).toFixed(1).padStart(9)} ms ${((us / totalUs) * 100).toFixed(1).padStart(5)} %  ${name}`,
      );
    }
  };
  lines.push(
    `${file}: ${(totalUs / 1000).toFixed(0)} ms sampled over ${((prof.endTime - prof.startTime) / 1000).toFixed(0)} ms, ${samples.length} samples`,
  );
  print('self time by function', byFn);
  print('self time by file (native functions by name)', byFile);
  // A closed pipe (`| head`) is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  process.stdout.write(`${lines.join('\n')}\n`);
}

main();
