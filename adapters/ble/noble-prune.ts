// noble (1.9.2-26) keeps a Peripheral object and per-peripheral service/characteristic/descriptor maps for every
// address it ever saw, forever. With thousands of passers-by (phones rotate random addresses every ~15 min) that
// is an unbounded leak, so evicted unknown advertisers are removed from those private maps. Only ever called for
// addresses that are not connected and not configured.
import type { Noble } from './noble-types.js';

type NobleInternals = Record<
  '_peripherals' | '_services' | '_characteristics' | '_descriptors' | '_discoveredPeripheralUUids',
  Record<string, unknown> | undefined
>;

export function forgetPeripheral(noble: Noble, id: string): void {
  const internals = noble as unknown as NobleInternals;
  const peripheral = internals._peripherals?.[id] as { state?: string } | undefined;
  if (peripheral && peripheral.state !== 'disconnected' && peripheral.state !== undefined) return;
  delete internals._peripherals?.[id];
  delete internals._services?.[id];
  delete internals._characteristics?.[id];
  delete internals._descriptors?.[id];
  delete internals._discoveredPeripheralUUids?.[id];
}
