/**
 * Values the engine stores (contexts, results, handler config) are kept as plain, frozen JSON: the same
 * value whether it came from the caller, from a handler, or back from the database, and no handler or
 * subscriber can change a value another one sees.
 */
import { TaskerError } from '../errors.js';

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/** JSON round trip (Dates become strings, undefined keys vanish, undefined becomes null), then frozen. */
export function toJsonValue(value: unknown, what: string): unknown {
  let text: string | undefined;
  try {
    if (typeof value === 'function' || typeof value === 'symbol')
      throw new TypeError(`a ${typeof value} is not JSON`);
    text = JSON.stringify(value);
  } catch (err) {
    throw new TaskerError(
      'NOT_SERIALIZABLE',
      `${what} cannot be stored as JSON: ${err instanceof Error ? err.message : String(err)}`,
      { what },
    );
  }
  if (text === undefined) return null;
  const parsed = JSON.parse(text) as unknown;
  if (nestingDepth(parsed) > MAX_JSON_DEPTH) {
    throw new TaskerError('NOT_SERIALIZABLE', `${what} is nested deeper than ${MAX_JSON_DEPTH} levels`, {
      what,
    });
  }
  return deepFreeze(parsed);
}

/**
 * Deeper values are refused: every later JSON.stringify/parse of them (stores, events, logs) recurses, and
 * a few thousand levels overflow the stack somewhere far from the caller who sent them.
 */
export const MAX_JSON_DEPTH = 100;

function nestingDepth(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (d + 1 > max) max = d + 1;
    if (max > MAX_JSON_DEPTH) return max;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}
