// When to ask a device again after it refused or did not answer.
export interface RetryPolicy {
  retryMinMs: number;
  retryMaxMs: number;
}

/**
 * Exponential back-off from retryMinMs to retryMaxMs, and never before the refusal's Max-Age has passed: on 5.03
 * it is the time after which to retry (RFC 7252 §5.9.3.4), on other answers the time the answer stays valid.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, maxAgeS?: number): number {
  const backoff = Math.min(policy.retryMaxMs, policy.retryMinMs * 2 ** attempt);
  return maxAgeS === undefined ? backoff : Math.max(backoff, maxAgeS * 1000);
}
