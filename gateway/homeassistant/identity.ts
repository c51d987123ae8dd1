// What a device is, independent of its id: the key its config entry recognises it by. Home Assistant's
// unique_id is built from it, so renaming a device (same match, new id) keeps its unique_ids.
// A shared secret (a CoAP token) is hashed: discovery configs are retained and readable by every client.
import { createHash } from 'node:crypto';
import { type Entry, entryObject, entryText } from '../devices/entry-fields.js';

/** A slug of the device's stable identity, or undefined when its entry has none (the id is all there is). */
export function stableIdentity(transport: string, config: Entry | undefined): string | undefined {
  const id = config ? IDENTITIES[transport]?.(config) : undefined;
  return id === undefined ? undefined : slug(id);
}

function bleIdentity(config: Entry): string | undefined {
  const match = entryObject(config.match);
  const mac = entryText(match?.address) ?? entryText(match?.bthome_mac);
  if (mac) return `ble_${mac.replace(/[^0-9a-fA-F]/g, '').toLowerCase()}`;
  const serial = entryText(match?.serial_number);
  return serial ? `ble_sn_${serial}` : undefined;
}

function serialIdentity(config: Entry): string | undefined {
  const match = entryObject(config.match);
  const usbSerial = entryText(entryObject(match?.usb)?.serial);
  if (usbSerial) return `usb_${usbSerial}`;
  const byId = entryText(match?.by_id);
  return byId ? `usb_${byId.split('/').at(-1)}` : undefined;
}

function coapIdentity(config: Entry): string | undefined {
  const endpoint = entryText(entryObject(config.lwm2m)?.endpoint);
  if (endpoint) return `lwm2m_${endpoint}`;
  const address = entryText(config.address);
  if (address) return `coap_${address}`;
  const token = entryText(config.token);
  return token ? `coap_token_${createHash('sha256').update(token).digest('hex').slice(0, 16)}` : undefined;
}

const IDENTITIES: Record<string, (config: Entry) => string | undefined> = {
  ble: bleIdentity,
  serial: serialIdentity,
  coap: coapIdentity,
};

/** unique_id and identifiers take any string, but discovery object ids only `[a-zA-Z0-9_-]`: keep to those. */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}
