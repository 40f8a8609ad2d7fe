/**
 * Bearer tokens. Only SHA-256 digests are configured (a config file or env var never holds a usable
 * token); a presented token is hashed and compared with every digest in constant time, so timing says
 * nothing about which digest came close. Each token carries scopes and, optionally, the namespaces it may
 * see: tasks of other namespaces are reported as not found, never as forbidden.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { SCOPES, type ApiToken, type Scope } from '../config/tokens.js';

export { SCOPES, parseTokens, sha256Hex, type ApiToken, type Scope } from '../config/tokens.js';

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
