// Which discovered characteristics become which state properties: the standard services Zephyr ships, then
// the generic mapping from config (which wins for the characteristics it names).
import type { StateValues } from '../../../gateway/adapter.js';
import { type CharacteristicMapping, normalizeUuid } from '../config.js';
import { decodeWithCodec } from '../decoders/codec.js';
import {
  decodeBatteryLevel,
  decodeBodySensorLocation,
  decodeEssHumidity,
  decodeEssPressure,
  decodeEssTemperature,
  decodeHeartRate,
  decodeHtsMeasurement,
} from '../decoders/gatt-services.js';
import type { DecodeResult } from '../decoders/result.js';
import { type GattCharacteristic, PROP_INDICATE, PROP_NOTIFY, PROP_READ } from './gatt-client.js';

export const NUS_SERVICE = '6e400001b5a3f393e0a9e50e24dcca9e';
export const NUS_RX = '6e400002b5a3f393e0a9e50e24dcca9e';
export const NUS_TX = '6e400003b5a3f393e0a9e50e24dcca9e';
export const DIS_SERVICE = '180a';

export interface CharacteristicHandler {
  char: GattCharacteristic;
  /** Property name for logs and `/get`. */
  property: string;
  decode(bytes: Uint8Array): DecodeResult<StateValues>;
  read: boolean;
  subscribe: boolean;
  mapping?: CharacteristicMapping;
}

type ValueDecoder = (bytes: Uint8Array) => DecodeResult<StateValues>;

const single =
  <T>(property: string, decode: (b: Uint8Array) => DecodeResult<T>): ValueDecoder =>
  (bytes) => {
    const r = decode(bytes);
    return r.ok ? { ok: true, value: { [property]: r.value } } : r;
  };

const spread =
  <T extends object>(decode: (b: Uint8Array) => DecodeResult<T>): ValueDecoder =>
  (bytes) => {
    const r = decode(bytes);
    return r.ok ? { ok: true, value: { ...r.value } as StateValues } : r;
  };

const STANDARD: Record<string, { property: string; decode: (property: string) => ValueDecoder }> = {
  '180f/2a19': { property: 'battery', decode: (p) => single(p, decodeBatteryLevel) },
  '181a/2a6e': { property: 'temperature', decode: (p) => single(p, decodeEssTemperature) },
  '181a/2a6f': { property: 'humidity', decode: (p) => single(p, decodeEssHumidity) },
  '181a/2a6d': { property: 'pressure', decode: (p) => single(p, decodeEssPressure) },
  '180d/2a37': { property: 'heart_rate', decode: () => spread(decodeHeartRate) },
  '180d/2a38': { property: 'body_sensor_location', decode: (p) => single(p, decodeBodySensorLocation) },
  '1809/2a1c': {
    property: 'temperature',
    decode: () => (bytes) => {
      const r = decodeHtsMeasurement(bytes);
      if (!r.ok) return r;
      const { unit: _unit, ...values } = r.value;
      return { ok: true, value: values };
    },
  },
};

/** "Temperature Sensor 1" -> "temperature_sensor_1". */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * Builds the handlers. `labels` holds the 0x2901 User Description per value handle, used to tell apart
 * characteristics that share a UUID (the ESS sample's two temperatures).
 */
export function buildHandlers(
  chars: GattCharacteristic[],
  mappings: CharacteristicMapping[],
  labels: Map<number, string>,
): CharacteristicHandler[] {
  const handlers: CharacteristicHandler[] = [];
  const used = new Set<number>();
  for (const mapping of mappings) {
    const charUuid = normalizeUuid(mapping.characteristic);
    const serviceUuid = mapping.service ? normalizeUuid(mapping.service) : undefined;
    for (const char of chars) {
      if (char.uuid !== charUuid || (serviceUuid && char.serviceUuid !== serviceUuid) || used.has(char.valueHandle))
        continue;
      used.add(char.valueHandle);
      handlers.push({
        char,
        property: mapping.property,
        mapping,
        decode: (bytes) => {
          const r = decodeWithCodec(mapping.codec, bytes, mapping.scale);
          return r.ok ? { ok: true, value: { [mapping.property]: r.value } } : r;
        },
        read: mapping.read && (char.properties & PROP_READ) !== 0,
        subscribe: mapping.notify && (char.properties & (PROP_NOTIFY | PROP_INDICATE)) !== 0,
      });
      break;
    }
  }
  const groups = new Map<string, GattCharacteristic[]>();
  for (const char of chars) {
    const key = `${char.serviceUuid}/${char.uuid}`;
    if (!STANDARD[key] || used.has(char.valueHandle)) continue;
    groups.set(key, [...(groups.get(key) ?? []), char]);
  }
  for (const [key, group] of groups) {
    const std = STANDARD[key]!;
    const names = propertyNames(std.property, group, labels);
    group.forEach((char, i) => {
      const property = names[i]!;
      handlers.push({
        char,
        property,
        decode: std.decode(property),
        read: (char.properties & PROP_READ) !== 0,
        subscribe: (char.properties & (PROP_NOTIFY | PROP_INDICATE)) !== 0,
      });
    });
  }
  return handlers;
}

/** One characteristic keeps the plain name; several get their 0x2901 label (or their position) as the name. */
function propertyNames(base: string, group: GattCharacteristic[], labels: Map<number, string>): string[] {
  if (group.length === 1) return [base];
  const fromLabels = group.map((c) => {
    const label = labels.get(c.valueHandle);
    return label ? slug(label) : '';
  });
  const unique = new Set(fromLabels).size === group.length && fromLabels.every((n) => n.length > 0);
  return unique ? fromLabels : group.map((_, i) => `${base}_${i + 1}`);
}

export const DIS_FIELDS: Record<string, string> = {
  '2a29': 'manufacturer',
  '2a24': 'model',
  '2a25': 'serial_number',
  '2a27': 'hardware_revision',
  '2a26': 'firmware_revision',
  '2a28': 'software_revision',
};
