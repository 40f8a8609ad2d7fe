/**
 * A handler's `ctx.log`: masks given values (its task's sensitive context values) in every argument —
 * message strings included — before the line is written, and redacts the bindings of children it makes.
 */
import type { Logger } from 'pino';
import { maskValues } from '../core/redact.js';

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);

function maskDeep(v: unknown, values: readonly string[], mask: string, depth = 0): unknown {
  if (values.length === 0) return v;
  if (typeof v === 'string') return maskValues(v, values, mask);
  if (typeof v === 'number' || typeof v === 'bigint') {
    const s = String(v);
    return values.includes(s) ? mask : v;
  }
  if (v === null || typeof v !== 'object' || depth > 32) return v;
  if (v instanceof Error) {
    const e = new Error(maskValues(v.message, values, mask));
    e.name = v.name;
    if (v.stack) e.stack = maskValues(v.stack, values, mask);
    return e;
  }
  if (Array.isArray(v)) return v.map((x) => maskDeep(x, values, mask, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    Object.defineProperty(out, k, {
      value: maskDeep(x, values, mask, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/**
 * `values` are masked in every argument; `redact` (key-based) also runs over a child's bindings, which a
 * logger's log formatter never sees (pino formats bindings once, at child creation).
 */
export function maskingLogger(
  logger: Logger,
  values: readonly string[],
  mask: string,
  redact: (o: unknown) => unknown = (o) => o,
): Logger {
  return new Proxy(logger, {
    get(target, prop, receiver) {
      const real: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop === 'string' && LEVELS.has(prop) && typeof real === 'function') {
        return (...args: unknown[]) =>
          (real as (...a: unknown[]) => void).apply(
            target,
            args.map((a) => maskDeep(a, values, mask)),
          );
      }
      if (prop === 'child' && typeof real === 'function') {
        return (...args: unknown[]) =>
          maskingLogger(
            (real as (...a: unknown[]) => Logger).apply(
              target,
              args.map((a) => redact(maskDeep(a, values, mask))),
            ),
            values,
            mask,
            redact,
          );
      }
      return real;
    },
  });
}
