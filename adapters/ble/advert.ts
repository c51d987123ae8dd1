// What an advertisement says about a configured device: BTHome values, manufacturer data, RSSI. Pure apart
// from node:crypto (decryption): no I/O, no logging.
import type { StateValues } from '../../gateway/adapter.js';
import { type BleDeviceConfig, normalizeMac } from './config.js';
import { BTHOME_UUID, type BthomeFrame, decodeBthome } from './decoders/bthome.js';
import { decodeWithCodec } from './decoders/codec.js';
import { hex } from './decoders/result.js';
import type { NobleAdvertisement } from './noble-types.js';

export interface AdvertDecode {
  values: StateValues;
  /** `kind` is a fixed label (a metric's), `reason` the detail. */
  errors: { kind: 'bthome' | 'manufacturer_data'; reason: string; bytes?: Uint8Array }[];
  bthome?: BthomeFrame;
  /** BTHome data was there and refused (undecodable, wrong key, plain from a keyed device): the advert says
   * nothing trustworthy, not even that the device is there. */
  refused?: boolean;
}

/** RSSI (dBm) to Zigbee2MQTT-style linkquality 0..255: -100 dBm -> 0, -30 dBm and stronger -> 255. */
export function linkquality(rssi: number): number {
  return Math.max(0, Math.min(255, Math.round(((rssi + 100) * 255) / 70)));
}

export function decodeAdvert(
  adv: NobleAdvertisement,
  rssi: number,
  address: string,
  device: Pick<BleDeviceConfig, 'bind_key' | 'match' | 'manufacturer_data'>,
  keyCache: Map<string, Buffer>,
): AdvertDecode {
  const out: AdvertDecode = { values: {}, errors: [] };
  if (Number.isFinite(rssi) && rssi < 0) {
    out.values.rssi = rssi;
    out.values.linkquality = linkquality(rssi);
  }
  for (const sd of adv.serviceData ?? []) {
    if (sd.uuid !== BTHOME_UUID) continue;
    // Only what the config says is cached: a device matched by name may advertise from ever new (random) addresses.
    const r = decodeBthome(sd.data, {
      bindKey: device.bind_key ? cachedBuffer(keyCache, device.bind_key) : undefined,
      mac: device.match.bthome_mac
        ? cachedBuffer(keyCache, normalizeMac(device.match.bthome_mac))
        : Buffer.from(address, 'hex'),
    });
    if (!r.ok) {
      out.errors.push({ kind: 'bthome', reason: r.error, bytes: sd.data });
      out.refused = true;
      continue;
    }
    if (device.bind_key && !r.value.encrypted) {
      // A device with a key must encrypt: a plain frame from its address is spoofed or misconfigured.
      out.errors.push({
        kind: 'bthome',
        reason: 'bthome: unencrypted frame from a device with a bind_key ignored',
        bytes: sd.data,
      });
      out.refused = true;
      continue;
    }
    out.bthome = r.value;
    Object.assign(out.values, r.value.values);
    if (r.value.stoppedEarly)
      out.errors.push({ kind: 'bthome', reason: `bthome: ${r.value.stoppedEarly}`, bytes: sd.data });
    for (const reason of r.value.ignored ?? [])
      out.errors.push({ kind: 'bthome', reason: `bthome: ${reason}`, bytes: sd.data });
  }
  const md = adv.manufacturerData;
  const spec = device.manufacturer_data;
  if (md && spec) decodeManufacturer(md, spec, out);
  return out;
}

/** The bytes an advert carries for a device (service and manufacturer data), to tell a repeat from news. */
export function advertContent(adv: NobleAdvertisement): string {
  const services = (adv.serviceData ?? []).map((sd) => `${sd.uuid}:${hex(sd.data)}`);
  return `${services.join(',')}|${adv.manufacturerData ? hex(adv.manufacturerData) : ''}`;
}

function decodeManufacturer(
  md: Buffer,
  spec: NonNullable<BleDeviceConfig['manufacturer_data']>,
  out: AdvertDecode,
): void {
  if (md.length < 2) {
    out.errors.push({ kind: 'manufacturer_data', reason: 'manufacturer data shorter than its company id', bytes: md });
    return;
  }
  const company = md.readUInt16LE(0);
  if (spec.company_id !== undefined && company !== spec.company_id) return;
  const body = md.subarray(2);
  if (spec.fields.length === 0) {
    out.values.manufacturer_data = hex(body);
    out.values.company_id = company;
    return;
  }
  for (const f of spec.fields) {
    const size = f.codec === 'float64le' ? 8 : /32/.test(f.codec) ? 4 : /16/.test(f.codec) ? 2 : 1;
    if (f.offset + size > body.length) {
      out.errors.push({
        kind: 'manufacturer_data',
        reason: `manufacturer data: ${f.property} beyond the end`,
        bytes: md,
      });
      continue;
    }
    const r = decodeWithCodec(f.codec, body.subarray(f.offset, f.offset + size), f.scale);
    if (r.ok) out.values[f.property] = r.value;
    else
      out.errors.push({ kind: 'manufacturer_data', reason: `manufacturer data: ${f.property}: ${r.error}`, bytes: md });
  }
}

function cachedBuffer(cache: Map<string, Buffer>, hexText: string): Buffer {
  let buf = cache.get(hexText);
  if (!buf) {
    buf = Buffer.from(hexText, 'hex');
    cache.set(hexText, buf);
  }
  return buf;
}
