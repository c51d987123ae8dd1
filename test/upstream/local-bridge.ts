// The local side of a bridge test: a temp data dir, the embedded broker on it and an UpstreamBridge from that broker,
// each removed or stopped by the test's cleanups (run newest first, so the bridge stops before its broker closes).
import { rm } from 'node:fs/promises';
import type { UpstreamDeps } from '../../gateway/upstream/bridge.js';
import type { UpstreamConfigInput } from '../../gateway/upstream/config.js';
import { makeBridge, startLocalBroker } from './brokers.js';
import { tempDir } from './queue-helpers.js';

export type Cleanups = Array<() => Promise<unknown>>;

/** A fresh temp dir that `cleanups` removes. */
export async function tempDataDir(cleanups: Cleanups, prefix?: string): Promise<string> {
  const dir = await tempDir(prefix);
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface LocalBridgeOptions {
  /** The bridge's data dir (its queue), when not the broker's: a small disk. */
  bridgeDir?: string;
  gatewayId?: string;
  hooks?: Pick<UpstreamDeps, 'stateRetryMs'>;
}

/** The local broker on `dir` and a bridge from it with `config`, not started yet. */
export async function startLocalBridge(
  cleanups: Cleanups,
  dir: string,
  config: UpstreamConfigInput,
  options: LocalBridgeOptions = {},
) {
  const local = await startLocalBroker(dir);
  cleanups.push(() => local.broker.close());
  const b = makeBridge(local.broker, options.bridgeDir ?? dir, config, options.gatewayId, options.hooks);
  cleanups.push(() => b.bridge.stop());
  return { local, ...b };
}
