// noble (1.9.2-26) keeps a Peripheral object and per-peripheral service/characteristic/descriptor maps for every
// address it ever saw, forever, and so does its HCI binding below it (the address, type and connectability per
// peripheral id, and GAP's last advertisement per address). With thousands of passers-by (phones rotate random
// addresses every ~15 min) that is an unbounded leak, so evicted unknown advertisers are removed from those
// private maps. Only ever called for addresses that are not connected and not configured.
import type { Noble } from './noble-types.js';

type Maps = Record<string, Record<string, unknown> | undefined>;

const NOBLE_MAPS = ['_peripherals', '_services', '_characteristics', '_descriptors', '_discoveredPeripheralUUids'];
/** noble's HCI binding (lib/hci-socket/bindings.js), keyed by peripheral id; other bindings have none of them. */
const BINDING_MAPS = ['_addresses', '_addresseTypes', '_connectable', 'scannable'];

export function forgetPeripheral(noble: Noble, id: string): void {
  const internals = noble as unknown as Maps & { _bindings?: Maps & { _gap?: Maps } };
  const peripheral = internals._peripherals?.[id] as { state?: string } | undefined;
  if (peripheral && peripheral.state !== 'disconnected' && peripheral.state !== undefined) return;
  for (const map of NOBLE_MAPS) delete internals[map]?.[id];
  const binding = internals._bindings;
  if (!binding) return;
  // GAP keys its advertisements by the address as the controller reports it ("aa:bb:..."), not by id.
  const address = binding._addresses?.[id];
  if (typeof address === 'string') delete binding._gap?._discoveries?.[address];
  for (const map of BINDING_MAPS) delete binding[map]?.[id];
}
