/** Test helpers for what the engine writes: a pino logger into memory, and metric families from text. */
import { Writable } from 'node:stream';
import pino from 'pino';

export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A pino logger whose JSON lines are kept, raw (for byte checks) and parsed, instead of printed. */
export function capturingLogger(level = 'info') {
  const raw: string[] = [];
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const text = chunk.toString('utf8');
      raw.push(text);
      for (const l of text.split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return { logger: pino({ level }, sink), raw, lines };
}

/** `name{labels} value` lines of one metric family, as a map from the label text to the value. */
export function family(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) out.set(m[1] ?? '', Number(m[2]));
  }
  return out;
}
