// Signals that reach `zephyr2mqtt run` while it still loads the gateway's modules (a second or more), before
// runGateway() has installed its own handlers: Node's default action would end the process without a log line.
// They are held, oldest first, and handed to runGateway(), which treats them as arriving during start-up.

/** The signals the running gateway handles: SIGTERM and SIGINT stop it, SIGHUP reloads its config. */
export const GATEWAY_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
export type GatewaySignal = (typeof GATEWAY_SIGNALS)[number];

export interface EarlySignals {
  /** Removes the holding handlers and returns the signals held, oldest first. Call once the gateway's own handlers
   * are installed, or when loading failed (the signals then get their default action back). Idempotent. */
  release(): GatewaySignal[];
}

export function holdSignals(): EarlySignals {
  const held: GatewaySignal[] = [];
  const handlers = GATEWAY_SIGNALS.map((signal) => [signal, () => hold(signal)] as const);
  function hold(signal: GatewaySignal): void {
    // As during start-up, a second stop signal is an operator who will not wait; nothing has started yet.
    if (signal !== 'SIGHUP' && held.some((earlier) => earlier !== 'SIGHUP')) {
      process.stderr.write(`zephyr2mqtt: second stop signal (${signal}) while loading, exiting without a clean stop\n`);
      process.exit(1);
    }
    held.push(signal);
  }
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return {
    release() {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      return held.splice(0);
    },
  };
}
