/**
 * The logger the CLI creates (a library host passes its own): pino JSON lines on stderr, or a readable
 * one-line-per-event form for a terminal (log_format: pretty). Every line written while a span is active
 * carries its trace_id and span_id.
 */
import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';
import type { LogFormat } from '../config/telemetry.js';

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** `12:00:01.123 WARN  step charge of shop.order failed … task_id=… correlation_id=…` */
export function prettyLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '';
  const level = (LEVEL_NAMES[Number(o.level)] ?? String(o.level)).padEnd(5);
  const fields = Object.entries(o)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${level} ${typeof o.msg === 'string' ? o.msg : ''}${fields ? `  ${fields}` : ''}`;
}

function prettyStream(out: NodeJS.WritableStream): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) if (l.trim() !== '') out.write(`${prettyLine(l)}\n`);
      done();
    },
  });
}

export function createLogger(o: { level: string; format: LogFormat; fd?: number }): Logger {
  const options = {
    level: o.level,
    // The active span's ids on every line (cheap: one lookup in the context manager), unless the line's
    // logger already names them (a handler's ctx.log does): a key twice is not valid JSON for many readers.
    mixin(_merge: object, _level: number, logger: Logger) {
      const sc = trace.getActiveSpan()?.spanContext();
      if (!sc || 'trace_id' in logger.bindings()) return {};
      return { trace_id: sc.traceId, span_id: sc.spanId };
    },
  };
  if (o.format === 'pretty') return pino(options, prettyStream(process.stderr));
  return pino(options, pino.destination(o.fd ?? 2));
}
