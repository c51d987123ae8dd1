// What Home Assistant should make of a state property: component, device class, unit, state class.
// Names follow the state keys the adapters publish (BTHome, GATT, LwM2M/IPSO, NDJSON conventions); device
// classes and units are pairs HA's sensor and binary_sensor platforms accept (as HA's own BTHome integration maps
// the BTHome objects).

export type Component = 'sensor' | 'binary_sensor' | 'switch' | 'event' | 'update';

export interface PropertyMeaning {
  component: Component;
  device_class?: string;
  unit?: string;
  state_class?: 'measurement' | 'total' | 'total_increasing';
  icon?: string;
  entity_category?: 'diagnostic' | 'config';
  /** For binary_sensor/switch: the state value that means "on". */
  on_value?: boolean | string | number;
  /** For a switch whose values are words: the value that means "off" (then only these two values are discovered). */
  off_value?: string;
  /** For an event: the event types it fires (HA refuses any other); the buttons' list when not given. */
  event_types?: readonly string[];
}

const measurement = (device_class: string | undefined, unit: string | undefined): PropertyMeaning => ({
  component: 'sensor',
  ...(device_class ? { device_class } : {}),
  ...(unit ? { unit } : {}),
  state_class: 'measurement',
});

const total = (device_class: string, unit: string): PropertyMeaning => ({
  component: 'sensor',
  device_class,
  unit,
  state_class: 'total',
});

/** A BTHome-style boolean: true is "on" (door open, smoke detected, battery low...). */
const binary = (device_class?: string): PropertyMeaning => ({
  component: 'binary_sensor',
  ...(device_class ? { device_class } : {}),
  on_value: true,
});

const SENSORS: Record<string, PropertyMeaning> = {
  temperature: measurement('temperature', '°C'),
  humidity: measurement('humidity', '%'),
  pressure: measurement('pressure', 'hPa'),
  dew_point: measurement('temperature', '°C'),
  illuminance: measurement('illuminance', 'lx'),
  battery: { ...measurement('battery', '%'), entity_category: 'diagnostic' },
  voltage: measurement('voltage', 'V'),
  current: measurement('current', 'A'),
  power: measurement('power', 'W'),
  energy: { component: 'sensor', device_class: 'energy', unit: 'kWh', state_class: 'total_increasing' },
  co2: measurement('carbon_dioxide', 'ppm'),
  pm25: measurement('pm25', 'µg/m³'),
  pm10: measurement('pm10', 'µg/m³'),
  tvoc: measurement('volatile_organic_compounds', 'µg/m³'),
  moisture: measurement('moisture', '%'),
  distance: measurement('distance', 'mm'),
  distance_mm: measurement('distance', 'mm'),
  distance_m: measurement('distance', 'm'),
  speed: measurement('speed', 'm/s'),
  mass_kg: measurement('weight', 'kg'),
  mass_lb: measurement('weight', 'lb'),
  duration: measurement('duration', 's'),
  conductivity: measurement('conductivity', 'µS/cm'),
  precipitation: measurement('precipitation', 'mm'),
  volume: measurement('volume', 'L'),
  volume_ml: measurement('volume', 'mL'),
  volume_storage: measurement('volume_storage', 'L'),
  volume_flow_rate: measurement('volume_flow_rate', 'm³/h'),
  gas: total('gas', 'm³'),
  water: total('water', 'L'),
  uv_index: { ...measurement(undefined, undefined), icon: 'mdi:sun-wireless' },
  rotation: measurement(undefined, '°'),
  direction: measurement(undefined, '°'),
  acceleration: measurement(undefined, 'm/s²'),
  gyroscope: measurement(undefined, '°/s'),
  rotational_speed: measurement(undefined, 'rpm'),
  heart_rate: { ...measurement(undefined, 'bpm'), icon: 'mdi:heart-pulse' },
  count: { component: 'sensor', state_class: 'total_increasing' },
  linkquality: {
    component: 'sensor',
    unit: 'lqi',
    icon: 'mdi:signal',
    state_class: 'measurement',
    entity_category: 'diagnostic',
  },
  rssi: {
    component: 'sensor',
    device_class: 'signal_strength',
    unit: 'dBm',
    state_class: 'measurement',
    entity_category: 'diagnostic',
  },
};

/** The BTHome binary objects (0x0F-0x2D) by the names the BLE adapter publishes them under. */
const BTHOME_BINARY: Record<string, PropertyMeaning> = {
  generic_boolean: binary(),
  power_on: binary('power'),
  opening: binary('opening'),
  battery_low: binary('battery'),
  battery_charging: binary('battery_charging'),
  carbon_monoxide: binary('carbon_monoxide'),
  cold: binary('cold'),
  connectivity: binary('connectivity'),
  door: binary('door'),
  garage_door: binary('garage_door'),
  gas_detected: binary('gas'),
  heat: binary('heat'),
  light: binary('light'),
  lock: binary('lock'),
  moisture_detected: binary('moisture'),
  motion: binary('motion'),
  moving: binary('moving'),
  occupancy: binary('occupancy'),
  plug: binary('plug'),
  presence: binary('presence'),
  problem: binary('problem'),
  running: binary('running'),
  safety: binary('safety'),
  smoke: binary('smoke'),
  sound: binary('sound'),
  tamper: binary('tamper'),
  vibration: binary('vibration'),
  window: binary('window'),
};

export const PROPERTY_MEANINGS: Readonly<Record<string, PropertyMeaning>> = {
  ...SENSORS,
  ...BTHOME_BINARY,
  on_off: { component: 'switch', on_value: true },
  // Zigbee2MQTT's convention for anything switchable: "state": "ON" / "OFF".
  state: { component: 'switch', on_value: 'ON', off_value: 'OFF' },
  // Zigbee2MQTT's convention: contact true = closed.
  contact: { component: 'binary_sensor', device_class: 'door', on_value: false },
  // The Heart Rate sensor touching the skin: no device class fits.
  skin_contact: { ...binary(), icon: 'mdi:heart-pulse' },
  button: { component: 'event' },
  action: { component: 'event' },
  // A BTHome dimmer's turn: the event carries the direction, its steps beside it (event-payload.ts).
  dimmer: { component: 'event', event_types: ['rotate_left', 'rotate_right'] },
  // The gateway's firmware update status (ota_update, ota_update/check), as Zigbee2MQTT's update entity reads it.
  update: { component: 'update', device_class: 'firmware', entity_category: 'config' },
};

/**
 * The meaning of a property: its exact name; a numbered instance of a known name (door_2, temperature_1); or a
 * known sensor followed by more words and a number (temperature_sensor_1, a BLE characteristic named by
 * its 0x2901 description). battery_low, battery_voltage or voltage_mv are not batteries or voltages.
 */
export function meaningOf(property: string): PropertyMeaning | undefined {
  const exact = PROPERTY_MEANINGS[property];
  if (exact) return exact;
  if (!/_\d+$/.test(property)) return undefined;
  const instance = PROPERTY_MEANINGS[property.replace(/_\d+$/, '')];
  if (instance) return instance;
  for (let i = property.indexOf('_'); i > 0; i = property.indexOf('_', i + 1)) {
    const m = PROPERTY_MEANINGS[property.slice(0, i)];
    // Not an event: only the core's momentary names (button, button_2, action...) are published as presses on
    // <property>/event; `button_left_1` stays in the state, and an event entity for it would never fire.
    if (m?.component === 'sensor') return m;
  }
  return undefined;
}

/** A numeric sensor for a boolean would make Home Assistant refuse every state ("True" is not a number); a word
 * switch (`state`) is one only with its two words, since `state` is a common name for other things too. */
export function fitsValue(meaning: PropertyMeaning, value: unknown): boolean {
  if (meaning.off_value !== undefined) return value === meaning.on_value || value === meaning.off_value;
  // An update entity needs a version to compare: a status before any check or upload finished has none.
  if (meaning.component === 'update') {
    return typeof (value as { latest_version?: unknown } | null)?.latest_version === 'string';
  }
  return !(meaning.component === 'sensor' && typeof value === 'boolean');
}
