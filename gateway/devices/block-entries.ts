// The blocklist entries that keep a removed device out (device/remove with block: true): what its adapter will
// see of it once it is no longer configured, taken from its config entry.
import type { BlockEntry } from '../config/blocklist-schema.js';
import { byIdPath, type Entry, entryObject, entryText } from './entry-fields.js';

/** The entries for one device entry; empty when nothing it is recognised by shows before it is configured. */
export function blockEntriesFor(device: Entry): BlockEntry[] {
  const transport = String(device.transport);
  const keys = (FROM_CONFIG[transport] ?? byAddress)(device);
  return keys.map((key) => ({ transport, ...key }));
}

type Keys = Omit<BlockEntry, 'transport'>;

/** A random static address can change on reflash: the address is the narrower key, the name the one left. */
function ble(device: Entry): Keys[] {
  const match = entryObject(device.match);
  const address = entryText(match?.address);
  if (address) return [{ address }];
  const name = entryText(match?.name);
  if (name) return [{ name }];
  const bthomeMac = entryText(match?.bthome_mac);
  return bthomeMac ? [{ address: bthomeMac }] : []; // a serial number shows only over GATT, after configuring
}

/** LwM2M: the endpoint name. /ps: the id the device sends, and the address it sends from. */
function coap(device: Entry): Keys[] {
  const endpoint = entryText(entryObject(device.lwm2m)?.endpoint);
  if (endpoint) return [{ name: endpoint }];
  const address = entryText(device.address);
  return [{ name: entryText(device.ps_id) ?? String(device.id) }, ...(address ? [{ address }] : [])];
}

/** The USB serial number, else the by-id link, else the path. A vid/pid pair alone is a model, not a device. */
function serial(device: Entry): Keys[] {
  const match = entryObject(device.match);
  const serialNumber = entryText(entryObject(match?.usb)?.serial);
  if (serialNumber) return [{ serial_number: serialNumber }];
  const byId = entryText(match?.by_id);
  if (byId) return [{ address: byIdPath(byId) }];
  const path = entryText(device.path);
  return path ? [{ address: path }] : [];
}

/** Any other transport: its `address` key, when it has one. */
function byAddress(device: Entry): Keys[] {
  const address = entryText(device.address);
  return address ? [{ address }] : [];
}

const FROM_CONFIG: Record<string, (device: Entry) => Keys[]> = { ble, coap, serial };
