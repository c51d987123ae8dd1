// Which configured device an advertiser is. A random static address can change on reflash, so devices may be
// matched by advertised name or BTHome MAC as well; every key a device's `match` gives must agree.
import { type BleDeviceConfig, normalizeMac } from './config.js';

export type BleDevice = { id: string; disabled?: boolean } & BleDeviceConfig;

export class DeviceIndex {
  readonly #byAddress = new Map<string, BleDevice[]>();
  readonly #byName = new Map<string, BleDevice[]>();
  /** Devices only a GATT connection can identify (DIS serial number). */
  readonly serialOnly: BleDevice[] = [];

  constructor(readonly devices: readonly BleDevice[]) {
    for (const d of devices) {
      if (d.disabled) continue;
      const addr = d.match.address ?? d.match.bthome_mac;
      if (addr) push(this.#byAddress, normalizeMac(addr), d);
      else if (d.match.name) push(this.#byName, d.match.name, d);
      else this.serialOnly.push(d);
    }
  }

  /** The device an advert from `address` (normalised) with `name` belongs to, if any. */
  match(address: string, name: string | undefined): BleDevice | undefined {
    for (const d of this.#byAddress.get(address) ?? []) if (agrees(d, address, name)) return d;
    if (name !== undefined) for (const d of this.#byName.get(name) ?? []) if (agrees(d, address, name)) return d;
    return undefined;
  }

  get(id: string): BleDevice | undefined {
    return this.devices.find((d) => d.id === id);
  }
}

function agrees(d: BleDevice, address: string, name: string | undefined): boolean {
  const m = d.match;
  if (m.address && normalizeMac(m.address) !== address) return false;
  if (m.bthome_mac && normalizeMac(m.bthome_mac) !== address) return false;
  if (m.name !== undefined && m.name !== name) return false;
  return true;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** "aabbccddeeff" -> "AA:BB:CC:DD:EE:FF". */
export function formatMac(normalized: string): string {
  return (normalized.toUpperCase().match(/.{2}/g) ?? []).join(':');
}
