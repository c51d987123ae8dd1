// The upstream bridge as the controller sees it.
import { UpstreamBridge, type UpstreamDeps } from './bridge.js';

export type { UpstreamConfig } from './config.js';
export { upstreamConfigSchema } from './config.js';

export interface UpstreamBridgeHandle {
  /** open() and connect(). */
  start(): Promise<void>;
  /** Starts queueing local publishes (the broker interceptor) without connecting. */
  open(): Promise<void>;
  connect(): void;
  stop(): Promise<void>;
  reconfigure(config: import('./config.js').UpstreamConfig): Promise<void>;
  /** For bridge/info, /readyz and the dashboard. */
  status(): Record<string, unknown>;
}

export function createUpstreamBridge(deps: UpstreamDeps): UpstreamBridgeHandle {
  const bridge = new UpstreamBridge(deps);
  return {
    start: () => bridge.start(),
    open: async () => {
      await bridge.open();
    },
    connect: () => bridge.connect(),
    stop: () => bridge.stop(),
    reconfigure: (config) => bridge.reconfigure(config),
    status: () => bridge.status(),
  };
}
