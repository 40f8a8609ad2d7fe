/**
 * Retry math. Attempt numbers are 1-based; `delayBeforeAttempt(n)` is the wait before attempt n (n ≥ 2).
 * Defaults follow Tasker: 1, 2, 4, 8 … s, capped at 300 s, ±10 % jitter. A server-supplied Retry-After
 * (RetryableError.retryAfterSeconds) wins but is still capped, so a bad upstream cannot park a step forever.
 */
import type { RetryPolicy } from './template.js';

/** Attempts one run of a step may use: the policy's maximum, or one for a step that is not retryable. */
export function attemptBudget(policy: RetryPolicy): number {
  return policy.retryable ? policy.maxAttempts : 1;
}

export function backoffSeconds(
  policy: RetryPolicy,
  nextAttempt: number,
  random: () => number = Math.random,
): number {
  const { baseSeconds, multiplier, maxSeconds, jitter } = policy.backoff;
  const exp = Math.max(0, nextAttempt - 2);
  const raw = Math.min(maxSeconds, baseSeconds * Math.pow(multiplier, exp));
  const spread = raw * jitter * (random() * 2 - 1);
  return Math.max(0, Math.min(maxSeconds, raw + spread));
}

export function retryDelaySeconds(
  policy: RetryPolicy,
  nextAttempt: number,
  retryAfterSeconds: number | undefined,
  random: () => number = Math.random,
): number {
  if (retryAfterSeconds !== undefined)
    return Math.min(policy.backoff.maxSeconds, Math.max(0, retryAfterSeconds));
  return backoffSeconds(policy, nextAttempt, random);
}

/** Whether a failure of attempt `attempt` leads to another attempt. */
export function shouldRetry(policy: RetryPolicy, attempt: number, failureRetryable: boolean): boolean {
  return policy.retryable && failureRetryable && attempt < policy.maxAttempts;
}
