// Reconnect delays: exponential with "equal jitter" (half fixed, half random), so a fleet of gateways that
// lost the same broker does not reconnect in lock-step, yet no delay is shorter than half the step.
export function reconnectDelayMs(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const step = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + random() * (step / 2));
}
