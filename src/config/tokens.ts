/**
 * API tokens as configured: only SHA-256 digests (a config file or env var never holds a usable token),
 * each with scopes and, optionally, the namespaces it may see. Parsed here, with the rest of the
 * configuration; api/auth.ts checks presented tokens against them.
 */
import { createHash } from 'node:crypto';
import { TaskerError } from '../errors.js';

export const SCOPES = ['tasks:read', 'tasks:write', 'analytics:read', 'metrics:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiToken {
  name: string;
  /** hex SHA-256 of the token */
  tokenSha256: string;
  scopes: Scope[];
  /** When set, the only namespaces this token sees. */
  namespaces?: string[] | undefined;
}

export const sha256Hex = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** Parse and validate a token list (from config, or the JSON of TASKER_API_TOKENS), naming each bad field. */
export function parseTokens(raw: unknown, source: string): ApiToken[] {
  if (!Array.isArray(raw)) {
    throw new TaskerError(
      'CONFIG_INVALID',
      `${source}: expected a list of tokens, got ${JSON.stringify(raw)}`,
      {
        field: source,
      },
    );
  }
  return raw.map((t: unknown, i): ApiToken => {
    const where = `${source}[${i}]`;
    const bad = (field: string, expected: string, got: unknown) =>
      new TaskerError(
        'CONFIG_INVALID',
        `${where}.${field}: expected ${expected}, got ${JSON.stringify(got)}`,
        {
          field: `${where}.${field}`,
        },
      );
    if (t === null || typeof t !== 'object') throw bad('', 'an object', t);
    const o = t as Record<string, unknown>;
    const name = o.name;
    if (typeof name !== 'string' || name === '') throw bad('name', 'a non-empty string', name);
    const digest = o.token_sha256 ?? o.tokenSha256;
    if (typeof digest !== 'string' || !/^[0-9a-f]{64}$/i.test(digest))
      throw bad('token_sha256', 'the 64 hex digits of the token’s SHA-256', digest);
    const scopes = o.scopes;
    if (!Array.isArray(scopes) || scopes.length === 0 || scopes.some((s) => !SCOPES.includes(s as Scope)))
      throw bad('scopes', `a non-empty list of ${SCOPES.join(', ')}`, scopes);
    const ns = o.namespaces;
    if (ns !== undefined && (!Array.isArray(ns) || ns.some((n) => typeof n !== 'string' || n === '')))
      throw bad('namespaces', 'a list of namespace names', ns);
    return {
      name,
      tokenSha256: digest.toLowerCase(),
      scopes: scopes as Scope[],
      namespaces: ns as string[] | undefined,
    };
  });
}
