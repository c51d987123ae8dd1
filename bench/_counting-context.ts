// An AdapterContext for benchmarking an adapter or server on its own: it counts the telemetry and decode errors it
// is told of and drops everything else.
import type { AdapterContext, DeviceConfigOf } from '../gateway/adapter.js';
import { silentLogger } from '../gateway/logger.js';

export function countingContext(
  kind: string,
  dataDir: string,
  devices: () => DeviceConfigOf[],
): { ctx: AdapterContext; counts: { telemetry: number; decodeErrors: number } } {
  const counts = { telemetry: 0, decodeErrors: 0 };
  const ctx: AdapterContext = {
    kind,
    logger: silentLogger(),
    dataDir,
    devices,
    permitJoin: () => false,
    telemetry: () => {
      counts.telemetry++;
    },
    deviceStatus: () => {},
    availability: () => {},
    deviceInfo: () => {},
    deviceSeen: () => {},
    publish: () => {},
    decodeError: () => {
      counts.decodeErrors++;
    },
    countMessage: () => {},
  };
  return { ctx, counts };
}
