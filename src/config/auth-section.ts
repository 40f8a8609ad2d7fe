/**
 * The `auth:` section and TASKER_API_TOKENS, read by their own code rather than the settings table: the
 * file's section sets three CLI settings (tokens and two flags), the variable the token list alone.
 */
import { TaskerError } from '../errors.js';
import { parseTokens, type ApiToken } from './tokens.js';

/**
 * `auth: {tokens: [...], metrics_require_auth, allow_unauthenticated}` in the file; TASKER_API_TOKENS holds
 * the JSON of the token list alone.
 */
export function tokensFrom(value: unknown, source: string): ApiToken[] {
  if (typeof value === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (err) {
      throw new TaskerError(
        'CONFIG_INVALID',
        `${source}: expected the JSON of a token list ([{"name", "token_sha256", "scopes"}]): ${err instanceof Error ? err.message : String(err)}`,
        { source },
      );
    }
    return parseTokens(parsed, source);
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const unknownKey = Object.keys(o).find(
      (k) => !['tokens', 'metrics_require_auth', 'allow_unauthenticated'].includes(k),
    );
    if (unknownKey)
      throw new TaskerError(
        'CONFIG_INVALID',
        `${source}: unknown setting "${unknownKey}"; known: tokens, metrics_require_auth, allow_unauthenticated`,
        {
          source,
        },
      );
    return parseTokens(o.tokens ?? [], `${source}.tokens`);
  }
  return parseTokens(value, source);
}

export function authFlags(
  raw: unknown,
  source: string,
): { metricsRequireAuth?: boolean | undefined; allowUnauthenticated?: boolean | undefined } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return {};
  const o = raw as Record<string, unknown>;
  const flag = (k: string): boolean | undefined => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean')
      throw new TaskerError(
        'CONFIG_INVALID',
        `${source}.${k}: expected true or false, got ${JSON.stringify(v)}`,
        { source },
      );
    return v;
  };
  return {
    metricsRequireAuth: flag('metrics_require_auth'),
    allowUnauthenticated: flag('allow_unauthenticated'),
  };
}
