// The upstream bridge as the controller sees it.
import { UpstreamBridge, type UpstreamDeps } from './bridge.js';

export type { UpstreamConfig } from './config.js';
export { upstreamConfigSchema } from './config.js';

export interface UpstreamBridgeHandle {
  start(): Promise<void>;
  stop(): Promise<void>;
  reconfigure(config: import('./config.js').UpstreamConfig): Promise<void>;
  /** For bridge/info, /readyz and the dashboard. */
  status(): Record<string, unknown>;
}

export function createUpstreamBridge(deps: UpstreamDeps): UpstreamBridgeHandle {
  const bridge = new UpstreamBridge(deps);
  return {
    start: () => bridge.start(),
    stop: () => bridge.stop(),
    reconfigure: (config) => bridge.reconfigure(config),
    status: () => bridge.status(),
  };
}
