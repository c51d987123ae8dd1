// What `bridge/event` says about an unknown advertiser: where it is, what it looks like, and the config entry
// that would onboard it (matched by name when it has one, since random static addresses change on reflash).
import type { DeviceSeen } from '../../gateway/adapter.js';
import { formatMac } from './identity.js';
import type { NoblePeripheral } from './noble-types.js';
import { zephyrSample } from './zephyr-samples.js';

/** Services worth a GATT connection: HR, HT, ESS, Battery, NUS. */
const KNOWN_GATT_SERVICES = new Set(['180d', '1809', '181a', '180f', '6e400001b5a3f393e0a9e50e24dcca9e']);

export function describeUnknown(p: NoblePeripheral, address: string): DeviceSeen {
  const adv = p.advertisement ?? {};
  const services = adv.serviceUuids ?? [];
  const bthome = adv.serviceData?.find((s) => s.uuid === 'fcd2');
  const mac = formatMac(address);
  const match: Record<string, string> = adv.localName ? { name: adv.localName } : { address: mac };
  if (bthome) match.bthome_mac = mac;
  const sample = zephyrSample(adv.localName);
  return {
    transport: 'ble',
    address: mac,
    ...(adv.localName ? { name: adv.localName } : {}),
    suggested_config: {
      transport: 'ble',
      match,
      connect: p.connectable && services.some((s) => KNOWN_GATT_SERVICES.has(s)),
    },
    details: {
      address_type: p.addressType,
      rssi: p.rssi,
      connectable: p.connectable,
      service_uuids: services,
      ...(bthome ? { bthome: (bthome.data[0] ?? 0) & 0x01 ? 'encrypted' : 'plain' } : {}),
      ...(sample ? { zephyr_sample: sample } : {}),
      ...(adv.manufacturerData ? { manufacturer_data: adv.manufacturerData.toString('hex') } : {}),
    },
  };
}
