// What a device is, independent of its id: the key its config entry recognises it by. Home Assistant's
// unique_id is built from it, so renaming a device (same match, new id) keeps its unique_ids.
// A shared secret (a CoAP token) is hashed: discovery configs are retained and readable by every client.
import { createHash } from 'node:crypto';

type Entry = Record<string, unknown>;

/** A slug of the device's stable identity, or undefined when its entry has none (the id is all there is). */
export function stableIdentity(transport: string, config: Entry | undefined): string | undefined {
  const id = config ? IDENTITIES[transport]?.(config) : undefined;
  return id === undefined ? undefined : slug(id);
}

function bleIdentity(config: Entry): string | undefined {
  const match = object(config.match);
  const mac = text(match?.address) ?? text(match?.bthome_mac);
  if (mac) return `ble_${mac.replace(/[^0-9a-fA-F]/g, '').toLowerCase()}`;
  const serial = text(match?.serial_number);
  return serial ? `ble_sn_${serial}` : undefined;
}

function serialIdentity(config: Entry): string | undefined {
  const match = object(config.match);
  const usbSerial = text(object(match?.usb)?.serial);
  if (usbSerial) return `usb_${usbSerial}`;
  const byId = text(match?.by_id);
  return byId ? `usb_${byId.split('/').at(-1)}` : undefined;
}

function coapIdentity(config: Entry): string | undefined {
  const endpoint = text(object(config.lwm2m)?.endpoint);
  if (endpoint) return `lwm2m_${endpoint}`;
  const address = text(config.address);
  if (address) return `coap_${address}`;
  const token = text(config.token);
  return token ? `coap_token_${createHash('sha256').update(token).digest('hex').slice(0, 16)}` : undefined;
}

const IDENTITIES: Record<string, (config: Entry) => string | undefined> = {
  ble: bleIdentity,
  serial: serialIdentity,
  coap: coapIdentity,
};

function object(v: unknown): Entry | undefined {
  return typeof v === 'object' && v !== null ? (v as Entry) : undefined;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** unique_id and identifiers take any string, but discovery object ids only `[a-zA-Z0-9_-]`: keep to those. */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}
