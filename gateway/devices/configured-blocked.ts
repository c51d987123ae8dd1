// Devices that are configured and on the blocklist too. The configured device is served (the blocklist only keeps
// out devices that are not configured), which is easy to miss: the gateway says so at start and at each reload.
import type { BlockEntry } from '../config/blocklist-schema.js';
import type { GatewayConfig } from '../config/schema.js';
import { blockingEntry } from './blocklist.js';
import { reportedAs } from './reported-as.js';

export interface ConfiguredBlocked {
  device: string;
  entry: BlockEntry;
}

export function configuredAndBlocked(config: GatewayConfig): ConfiguredBlocked[] {
  if (config.blocklist.length === 0) return [];
  const out: ConfiguredBlocked[] = [];
  for (const device of config.devices) {
    // A disabled device is not served: the blocklist entry is then what keeps it out, as it should.
    if (device.disabled) continue;
    const entry = blockingEntry(config.blocklist, reportedAs(device as Record<string, unknown>));
    if (entry) out.push({ device: device.id, entry });
  }
  return out;
}
