// Devices that are configured and on the blocklist too. The configured device is served (the blocklist only keeps
// out devices that are not configured), which is easy to miss: the gateway says so at start and at each reload.
import type { BlockEntry } from '../config/blocklist-schema.js';
import type { GatewayConfig } from '../config/schema.js';
import { blockEntriesFor } from './block-entries.js';
import { blockingEntry } from './blocklist.js';

export interface ConfiguredBlocked {
  device: string;
  entry: BlockEntry;
}

export function configuredAndBlocked(config: GatewayConfig): ConfiguredBlocked[] {
  if (config.blocklist.length === 0) return [];
  const out: ConfiguredBlocked[] = [];
  for (const device of config.devices) {
    for (const key of blockEntriesFor(device as Record<string, unknown>)) {
      // What its adapter would report of the device, were it not configured.
      const entry = blockingEntry(config.blocklist, { ...key, address: key.address ?? '' });
      if (entry) {
        out.push({ device: device.id, entry });
        break;
      }
    }
  }
  return out;
}
