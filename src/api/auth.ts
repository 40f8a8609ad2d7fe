/**
 * Bearer tokens. Only SHA-256 digests are configured (a config file or env var never holds a usable
 * token); a presented token is hashed and compared with every digest in constant time, so timing says
 * nothing about which digest came close. Each token carries scopes and, optionally, the namespaces it may
 * see: tasks of other namespaces are reported as not found, never as forbidden.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
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

export interface Principal {
  name: string;
  scopes: ReadonlySet<Scope>;
  namespaces: ReadonlySet<string> | null;
}

/** Used when no tokens are configured (loopback only, or explicitly allowed). */
export const ANONYMOUS_ADMIN: Principal = Object.freeze({
  name: 'anonymous',
  scopes: new Set<Scope>(SCOPES),
  namespaces: null,
});

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

export class TokenVerifier {
  private readonly digests: Array<{ digest: Buffer; principal: Principal }>;

  constructor(tokens: readonly ApiToken[]) {
    this.digests = tokens.map((t) => ({
      digest: Buffer.from(t.tokenSha256, 'hex'),
      principal: {
        name: t.name,
        scopes: new Set(t.scopes),
        namespaces: t.namespaces ? new Set(t.namespaces) : null,
      },
    }));
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** The principal for an Authorization header value, or null. Every digest is compared, match or not. */
  verify(header: string | undefined): Principal | null {
    const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m?.[1]) return null;
    const presented = createHash('sha256').update(m[1], 'utf8').digest();
    let found: Principal | null = null;
    for (const d of this.digests) if (timingSafeEqual(presented, d.digest) && !found) found = d.principal;
    return found;
  }
}

export function hasScope(p: Principal, scope: Scope): boolean {
  return p.scopes.has('admin') || p.scopes.has(scope);
}

/** The namespaces a principal is limited to, or null for all. */
export function visibleNamespaces(p: Principal): string[] | null {
  return p.namespaces === null ? null : [...p.namespaces];
}

export function seesNamespace(p: Principal, namespace: string): boolean {
  return p.namespaces === null || p.namespaces.has(namespace);
}
