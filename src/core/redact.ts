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

  isSensitive(key: string): boolean {
    const k = normalise(key);
    return this.fragments.some((f) => k.includes(f));
  }

  /** A deep copy with every sensitive key's value replaced by the mask (the input is not touched). */
  redact<T>(value: T): T {
    return this.walk(value, 0) as T;
  }

  private walk(value: unknown, depth: number): unknown {
    // JSON from the store is finite; the bound only guards hand-built cyclic input.
    if (depth > 64 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => this.walk(v, depth + 1));
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
