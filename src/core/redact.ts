/**
 * Masking of sensitive values before anything leaves the engine (API responses, CLI output, and the logs,
 * spans and event payloads of the telemetry layer). A key is sensitive when its normalised name contains
 * a configured fragment, as Rails' filter_parameters does: `password` also masks `password_confirmation`.
 * Pure: no I/O.
 */

export const DEFAULT_FILTER_PARAMETERS: readonly string[] = Object.freeze([
  'password',
  'passwd',
  'secret',
  'token',
  'api_key',
  'apikey',
  'access_key',
  'private_key',
  'authorization',
  'credit_card',
  'card_number',
  'cvv',
  'cvc',
  'ssn',
]);

export const DEFAULT_FILTER_MASK = '[FILTERED]';

const normalise = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, '');

export class Redactor {
  private readonly fragments: string[];

  constructor(
    fragments: readonly string[] = DEFAULT_FILTER_PARAMETERS,
    readonly mask: string = DEFAULT_FILTER_MASK,
  ) {
    this.fragments = fragments.map(normalise).filter((f) => f.length > 0);
  }

  /** Keys repeat (every log line, every payload has the same few): remember each answer. */
  private readonly known = new Map<string, boolean>();

  isSensitive(key: string): boolean {
    let hit = this.known.get(key);
    if (hit === undefined) {
      const k = normalise(key);
      hit = this.fragments.some((f) => k.includes(f));
      if (this.known.size >= 10_000) this.known.clear(); // bound it: keys may come from user data
      this.known.set(key, hit);
    }
    return hit;
  }

  /**
   * A deep copy with every sensitive key's value replaced by the mask; the input itself (never touched)
   * when nothing in it is sensitive, which is the common case for log lines and payloads.
   */
  redact<T>(value: T): T {
    return this.holdsSensitive(value, 0) ? (this.walk(value, 0) as T) : value;
  }

  private holdsSensitive(value: unknown, depth: number): boolean {
    if (depth > 64 || value === null || typeof value !== 'object') return false;
    if (Array.isArray(value)) return value.some((v) => this.holdsSensitive(v, depth + 1));
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return false;
    for (const k in value) {
      if (!Object.hasOwn(value, k)) continue;
      if (this.isSensitive(k) || this.holdsSensitive((value as Record<string, unknown>)[k], depth + 1))
        return true;
    }
    return false;
  }

  private walk(value: unknown, depth: number): unknown {
    // JSON from the store is finite; the bound only guards hand-built cyclic input.
    if (depth > 64 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => this.walk(v, depth + 1));
    // Only plain data is walked: an Error or a Date keeps its class (a logger serialises those itself).
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: this.isSensitive(k) ? this.mask : this.walk(v, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
}

/** Values shorter than this are not masked inside text: masking "1" or "ok" everywhere would garble it. */
const MIN_MASKED_VALUE = 4;

/**
 * The string forms of every value held under a sensitive key, at any depth: what must not appear in free
 * text (error messages, log lines) that may echo the context.
 */
export function sensitiveValues(redactor: Redactor, value: unknown): string[] {
  const out = new Set<string>();
  const collect = (v: unknown, depth: number, under: boolean) => {
    if (depth > 64 || v === null || v === undefined) return;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') {
      const s = String(v);
      if (under && s.length >= MIN_MASKED_VALUE) out.add(s);
      return;
    }
    if (typeof v !== 'object') return;
    if (Array.isArray(v)) {
      for (const x of v) collect(x, depth + 1, under);
      return;
    }
    for (const [k, x] of Object.entries(v)) collect(x, depth + 1, under || redactor.isSensitive(k));
  };
  collect(value, 0, false);
  // Longest first, so a value that contains another is masked whole.
  return [...out].sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of the given values replaced by the mask. */
export function maskValues(text: string, values: readonly string[], mask: string): string {
  let out = text;
  for (const v of values) if (out.includes(v)) out = out.split(v).join(mask);
  return out;
}
