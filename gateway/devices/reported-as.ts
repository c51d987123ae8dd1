// What an adapter would report of a configured device were it not configured (a DeviceSeen), from its config entry:
// every key its adapter sees before configuring, unlike blockEntriesFor's narrowest one. Used to tell a device the
// config disables from a new one, and to find configured devices that the blocklist names.
import type { DeviceSeen } from '../adapter.js';
import type { BlockEntry } from '../config/blocklist-schema.js';
import { blockingEntry } from './blocklist.js';
import { byIdPath, type Entry, entryObject, entryText } from './entry-fields.js';

export function reportedAs(device: Entry): DeviceSeen {
  const transport = String(device.transport);
  const match = entryObject(device.match);
  switch (transport) {
    case 'ble':
      return seen(transport, [entryText(match?.address) ?? entryText(match?.bthome_mac)], {
        name: entryText(match?.name),
        serial_number: entryText(match?.serial_number),
      });
    case 'coap':
      // /ps: the id it sends; LwM2M: its endpoint name; gateway-initiated: its address.
      return seen(transport, [entryText(device.address)], {
        name: entryText(entryObject(device.lwm2m)?.endpoint) ?? entryText(device.ps_id) ?? String(device.id),
      });
    case 'serial': {
      const byId = entryText(match?.by_id);
      return seen(transport, [entryText(device.path), byId && byIdPath(byId)], {
        serial_number: entryText(entryObject(match?.usb)?.serial),
      });
    }
    default:
      return seen(transport, [entryText(device.address)], {});
  }
}

/**
 * Whether `seen` is the device `known` describes: every key both give agrees (a CoAP client posting another id from
 * the same address is another device), and they share at least one.
 */
export function sameDevice(known: DeviceSeen, seen: DeviceSeen): boolean {
  const entry: BlockEntry = { transport: known.transport };
  const addresses = [known.address, ...(known.aliases ?? [])].filter((a) => a !== '');
  if (known.name !== undefined && seen.name !== undefined) entry.name = known.name;
  if (known.serial_number !== undefined && seen.serial_number !== undefined) entry.serial_number = known.serial_number;
  if (Object.keys(entry).length === 1 && addresses.length === 0) return false;
  if (addresses.length === 0) return blockingEntry([entry], seen) !== undefined;
  return addresses.some((address) => blockingEntry([{ ...entry, address }], seen) !== undefined);
}

function seen(
  transport: string,
  addresses: ReadonlyArray<string | undefined>,
  keys: { name?: string | undefined; serial_number?: string | undefined },
): DeviceSeen {
  const [address = '', ...aliases] = addresses.filter((a): a is string => typeof a === 'string' && a.length > 0);
  return {
    transport,
    address,
    ...(aliases.length > 0 ? { aliases } : {}),
    ...(keys.name !== undefined ? { name: keys.name } : {}),
    ...(keys.serial_number !== undefined ? { serial_number: keys.serial_number } : {}),
  };
}
