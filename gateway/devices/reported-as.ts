// What an adapter would report of a configured device were it not configured (a DeviceSeen), from its config entry:
// every key its adapter sees before configuring, unlike blockEntriesFor's narrowest one. Used to tell a device the
// config disables from a new one, and to find configured devices that the blocklist names.
import type { DeviceSeen } from '../adapter.js';
import type { BlockEntry } from '../config/blocklist-schema.js';
import { blockingEntry } from './blocklist.js';

type Entry = Record<string, unknown>;

export function reportedAs(device: Entry): DeviceSeen {
  const transport = String(device.transport);
  const match = object(device.match);
  switch (transport) {
    case 'ble':
      return seen(transport, [text(match?.address) ?? text(match?.bthome_mac)], {
        name: text(match?.name),
        serial_number: text(match?.serial_number),
      });
    case 'coap':
      // /ps: the id it sends; LwM2M: its endpoint name; gateway-initiated: its address.
      return seen(transport, [text(device.address)], {
        name: text(object(device.lwm2m)?.endpoint) ?? text(device.ps_id) ?? String(device.id),
      });
    case 'serial': {
      const byId = text(match?.by_id);
      return seen(transport, [text(device.path), byId && `/dev/serial/by-id/${byId.replace(/^.*\/by-id\//, '')}`], {
        serial_number: text(object(match?.usb)?.serial),
      });
    }
    default:
      return seen(transport, [text(device.address)], {});
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

function object(v: unknown): Entry | undefined {
  return typeof v === 'object' && v !== null ? (v as Entry) : undefined;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
