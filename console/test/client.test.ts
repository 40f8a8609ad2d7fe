import { describe, expect, it } from 'vitest';
import { buildQuery, segment } from '../src/api/client';

describe('api client URLs', () => {
  it('repeats array parameters and drops empty ones', () => {
    expect(
      buildQuery({
        status: ['failed', 'pending'],
        namespace: 'ecommerce',
        name: '',
        tag: undefined,
        cursor: null,
        limit: 50,
      }),
    ).toBe('?status=failed&status=pending&namespace=ecommerce&limit=50');
    expect(buildQuery({})).toBe('');
  });

  it('encodes values so ids and names cannot change the URL', () => {
    expect(buildQuery({ correlation_id: 'a&b=c d' })).toBe('?correlation_id=a%26b%3Dc+d');
    expect(segment('../steps/x?y#z')).toBe('..%2Fsteps%2Fx%3Fy%23z');
  });
});
