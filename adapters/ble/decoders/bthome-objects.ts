// BTHome v2 object ids (https://bthome.io/format; protocols.md §1.3): name, value type and factor.
// An id missing here cannot be skipped (its length is unknown), so parsing stops at it.

export type ObjectType = 'u8' | 's8' | 'u16' | 's16' | 'u24' | 's24' | 'u32' | 's32' | 'text' | 'raw' | 'bytes2';

export interface ObjectDef {
  name: string;
  type: ObjectType;
  factor?: number;
  /** Binary sensors publish true/false. */
  binary?: boolean;
  /** Events publish a label, e.g. button "press". */
  event?: 'button' | 'dimmer';
  /** A version number: its bytes, most significant first, joined by dots (F1 00 01 02 04 -> "4.2.1.0"). */
  version?: boolean;
}

// Binary objects are named apart from the numeric ones: 0x10 "power" (on/off) next to 0x0B power in W would make
// one property a number or a boolean depending on the device.
const BINARY_NAMES = [
  'generic_boolean', // 0x0F
  'power_on', // 0x10
  'opening', // 0x11
];
const BINARY_NAMES_2 = [
  'battery_low', // 0x15
  'battery_charging',
  'carbon_monoxide',
  'cold',
  'connectivity',
  'door',
  'garage_door',
  'gas_detected',
  'heat',
  'light',
  'lock',
  'moisture_detected',
  'motion',
  'moving',
  'occupancy',
  'plug',
  'presence',
  'problem',
  'running',
  'safety',
  'smoke',
  'sound',
  'tamper',
  'vibration',
  'window', // 0x2D
];

const table: Record<number, ObjectDef> = {
  0: { name: 'packet_id', type: 'u8' },
  1: { name: 'battery', type: 'u8' },
  2: { name: 'temperature', type: 's16', factor: 0.01 },
  3: { name: 'humidity', type: 'u16', factor: 0.01 },
  4: { name: 'pressure', type: 'u24', factor: 0.01 },
  5: { name: 'illuminance', type: 'u24', factor: 0.01 },
  6: { name: 'mass_kg', type: 'u16', factor: 0.01 },
  7: { name: 'mass_lb', type: 'u16', factor: 0.01 },
  8: { name: 'dew_point', type: 's16', factor: 0.01 },
  9: { name: 'count', type: 'u8' },
  10: { name: 'energy', type: 'u24', factor: 0.001 },
  11: { name: 'power', type: 'u24', factor: 0.01 },
  12: { name: 'voltage', type: 'u16', factor: 0.001 },
  13: { name: 'pm25', type: 'u16' },
  14: { name: 'pm10', type: 'u16' },
  18: { name: 'co2', type: 'u16' },
  19: { name: 'tvoc', type: 'u16' },
  20: { name: 'moisture', type: 'u16', factor: 0.01 },
  46: { name: 'humidity', type: 'u8' },
  47: { name: 'moisture', type: 'u8' },
  58: { name: 'button', type: 'u8', event: 'button' },
  60: { name: 'dimmer', type: 'bytes2', event: 'dimmer' },
  61: { name: 'count', type: 'u16' },
  62: { name: 'count', type: 'u32' },
  63: { name: 'rotation', type: 's16', factor: 0.1 },
  64: { name: 'distance_mm', type: 'u16' },
  65: { name: 'distance_m', type: 'u16', factor: 0.1 },
  66: { name: 'duration', type: 'u24', factor: 0.001 },
  67: { name: 'current', type: 'u16', factor: 0.001 },
  68: { name: 'speed', type: 'u16', factor: 0.01 },
  69: { name: 'temperature', type: 's16', factor: 0.1 },
  70: { name: 'uv_index', type: 'u8', factor: 0.1 },
  71: { name: 'volume', type: 'u16', factor: 0.1 },
  72: { name: 'volume_ml', type: 'u16' },
  73: { name: 'volume_flow_rate', type: 'u16', factor: 0.001 },
  74: { name: 'voltage', type: 'u16', factor: 0.1 },
  75: { name: 'gas', type: 'u24', factor: 0.001 },
  76: { name: 'gas', type: 'u32', factor: 0.001 },
  77: { name: 'energy', type: 'u32', factor: 0.001 },
  78: { name: 'volume', type: 'u32', factor: 0.001 },
  79: { name: 'water', type: 'u32', factor: 0.001 },
  80: { name: 'timestamp', type: 'u32' },
  81: { name: 'acceleration', type: 'u16', factor: 0.001 },
  82: { name: 'gyroscope', type: 'u16', factor: 0.001 },
  83: { name: 'text', type: 'text' },
  84: { name: 'raw', type: 'raw' },
  85: { name: 'volume_storage', type: 'u32', factor: 0.001 },
  86: { name: 'conductivity', type: 'u16' },
  87: { name: 'temperature', type: 's8' },
  88: { name: 'temperature', type: 's8', factor: 0.35 },
  89: { name: 'count', type: 's8' },
  90: { name: 'count', type: 's16' },
  91: { name: 'count', type: 's32' },
  92: { name: 'power', type: 's32', factor: 0.01 },
  93: { name: 'current', type: 's16', factor: 0.001 },
  94: { name: 'direction', type: 'u16', factor: 0.01 },
  95: { name: 'precipitation', type: 'u16', factor: 0.1 },
  96: { name: 'channel', type: 'u8' },
  97: { name: 'rotational_speed', type: 'u16' },
  98: { name: 'speed', type: 's32', factor: 0.000001 },
  99: { name: 'acceleration', type: 's32', factor: 0.000001 },
  100: { name: 'light_level', type: 'u8' },
  240: { name: 'device_type_id', type: 'u16' },
  241: { name: 'firmware_version', type: 'u32', version: true },
  242: { name: 'firmware_version', type: 'u24', version: true },
};
BINARY_NAMES.forEach((name, i) => {
  table[0x0f + i] = { name, type: 'u8', binary: true };
});
BINARY_NAMES_2.forEach((name, i) => {
  table[0x15 + i] = { name, type: 'u8', binary: true };
});

export const BTHOME_OBJECTS: ReadonlyMap<number, ObjectDef> = new Map(
  Object.entries(table).map(([id, def]) => [Number(id), def]),
);

/** Event code 0 of buttons and dimmers: nothing happened (multi-button devices send it for the others). */
export const NO_EVENT = 0;

export const BUTTON_EVENTS: Record<number, string> = {
  1: 'press',
  2: 'double_press',
  3: 'triple_press',
  4: 'long_press',
  5: 'long_double_press',
  6: 'long_triple_press',
  128: 'hold_press',
};

export const DIMMER_EVENTS: Record<number, string> = {
  1: 'rotate_left',
  2: 'rotate_right',
};

export const FIXED_SIZES: Record<Exclude<ObjectType, 'text' | 'raw'>, number> = {
  u8: 1,
  s8: 1,
  u16: 2,
  s16: 2,
  bytes2: 2,
  u24: 3,
  s24: 3,
  u32: 4,
  s32: 4,
};
