// Which configured device an advertiser is. A random static address can change on reflash, so devices may be
// matched by advertised name as well; every key a device's `match` gives must agree. `bthome_mac` is the MAC the
// bind key was issued for (the decryption nonce), not a matcher: a device advertising from another (random)
// address still decrypts. Only an entry with neither address nor name is found at its bthome_mac.
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
      const addr = d.match.address ?? (d.match.name === undefined ? d.match.bthome_mac : undefined);
      if (addr) push(this.#byAddress, normalizeMac(addr), d);
      else if (d.match.name) push(this.#byName, d.match.name, d);
      else this.serialOnly.push(d);
    }
  }

  /** The device an advert from `address` (normalised) with `name` belongs to, if any. */
  match(address: string, name: string | undefined): BleDevice | undefined {
    for (const d of this.#byAddress.get(address) ?? []) if (agrees(d, name)) return d;
    if (name !== undefined) for (const d of this.#byName.get(name) ?? []) if (agrees(d, name)) return d;
    return undefined;
  }

  /** The serial-only device with this Device Information serial number, if any. */
  bySerial(serial: string): BleDevice | undefined {
    return this.serialOnly.find((d) => d.match.serial_number === serial);
  }

  get(id: string): BleDevice | undefined {
    return this.devices.find((d) => d.id === id);
  }
}

/** The address was checked by the index lookup; a name, when given, must be the advertised one. */
function agrees(d: BleDevice, name: string | undefined): boolean {
  return d.match.name === undefined || d.match.name === name;
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
