/** Failure signatures and fingerprints: what varies between occurrences merges, what names a cause does not. */
import { describe, expect, it } from 'vitest';
import { fingerprintOf, type CauseKey } from '../src/core/failure-groups.js';
import { failureSignature, SIGNATURE_MAX } from '../src/core/failure-signature.js';

describe('failure signatures', () => {
  it.each([
    ['timeout after 30s for order 123', 'timeout after <n>s for order <n>'],
    ['timeout after 30s for order 456', 'timeout after <n>s for order <n>'],
    ['took 250ms', 'took <n>ms'],
    ['Card declined for cus_9fK2 (code 51)', 'Card declined for <id> (code <n>)'],
    ['order ORD-2024-00123 not found', 'order ORD-<n>-<n> not found'],
    ['user "John Doe" not allowed', 'user <str> not allowed'],
    ["key 'abc-123' missing", 'key <str> missing'],
    ['hash deadbeef12 mismatch', 'hash <hex> mismatch'],
    ['pointer 0x7ffe1234 freed', 'pointer <hex> freed'],
    ['id 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b failed', 'id <uuid> failed'],
    ['mail bob@example.com bounced', 'mail <email> bounced'],
    ['GET https://api.x.com/items?id=5&t=9 failed', 'GET https://api.x.com/items?<query> failed'],
    ['ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED <n>:<n>'],
    ['inventory_service   unavailable\n', 'inventory_service unavailable'],
  ])('%j → %j', (message, signature) => {
    expect(failureSignature(message)).toBe(signature);
  });

  it('keeps null, and cuts a dump to a bounded length', () => {
    expect(failureSignature(null)).toBeNull();
    const long = failureSignature('x'.repeat(10_000) + ' tail');
    expect(long?.length).toBe(SIGNATURE_MAX + 1);
    expect(long?.endsWith('…')).toBe(true);
  });

  it('gives one fingerprint per cause: another step, error type, version or kind never merges', () => {
    const base: CauseKey = {
      kind: 'failure',
      namespace: 'shop',
      name: 'order',
      version: '1.0.0',
      step: 'ship',
      errorType: 'timeout',
      signature: failureSignature('timeout after 30s for order 1')!,
    };
    const fp = fingerprintOf(base);
    expect(fp).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprintOf({ ...base, signature: failureSignature('timeout after 30s for order 2')! })).toBe(
      fp,
    );
    const others = [
      { ...base, step: 'charge' },
      { ...base, errorType: 'Error' },
      { ...base, errorType: null },
      { ...base, version: '1.0.1' },
      { ...base, kind: 'stuck' as const },
      { ...base, signature: 'carrier down' },
    ].map(fingerprintOf);
    expect(new Set([fp, ...others]).size).toBe(7);
  });
});
