// The blocklist entries that keep a removed device out (device/remove with block: true): what its adapter will
// see of it once it is no longer configured, taken from its config entry.
import type { BlockEntry } from '../config/blocklist-schema.js';

type Entry = Record<string, unknown>;

/** The entries for one device entry; empty when nothing it is recognised by shows before it is configured. */
export function blockEntriesFor(device: Entry): BlockEntry[] {
  const transport = String(device.transport);
  const keys = (FROM_CONFIG[transport] ?? byAddress)(device);
  return keys.map((key) => ({ transport, ...key }));
}

type Keys = Omit<BlockEntry, 'transport'>;

/** A random static address can change on reflash: the address is the narrower key, the name the one left. */
function ble(device: Entry): Keys[] {
  const match = object(device.match);
  const address = text(match?.address);
  if (address) return [{ address }];
  const name = text(match?.name);
  if (name) return [{ name }];
  const bthomeMac = text(match?.bthome_mac);
  return bthomeMac ? [{ address: bthomeMac }] : []; // a serial number shows only over GATT, after configuring
}

/** LwM2M: the endpoint name. /ps: the id the device sends, and the address it sends from. */
function coap(device: Entry): Keys[] {
  const endpoint = text(object(device.lwm2m)?.endpoint);
  if (endpoint) return [{ name: endpoint }];
  const address = text(device.address);
  return [{ name: text(device.ps_id) ?? String(device.id) }, ...(address ? [{ address }] : [])];
}

/** The USB serial number, else the by-id link, else the path. A vid/pid pair alone is a model, not a device. */
function serial(device: Entry): Keys[] {
  const match = object(device.match);
  const serialNumber = text(object(match?.usb)?.serial);
  if (serialNumber) return [{ serial_number: serialNumber }];
  const byId = text(match?.by_id);
  if (byId) return [{ address: `/dev/serial/by-id/${byId.replace(/^.*\/by-id\//, '')}` }];
  const path = text(device.path);
  return path ? [{ address: path }] : [];
}

/** Any other transport: its `address` key, when it has one. */
function byAddress(device: Entry): Keys[] {
  const address = text(device.address);
  return address ? [{ address }] : [];
}

const FROM_CONFIG: Record<string, (device: Entry) => Keys[]> = { ble, coap, serial };

function object(v: unknown): Entry | undefined {
  return typeof v === 'object' && v !== null ? (v as Entry) : undefined;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
