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
  return text === undefined ? null : deepFreeze(JSON.parse(text) as unknown);
}
