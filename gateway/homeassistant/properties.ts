// What Home Assistant should make of a state property: component, device class, unit, state class.
// Names follow the state keys the adapters publish (BTHome, GATT, LwM2M/IPSO, NDJSON conventions).

export type Component = 'sensor' | 'binary_sensor' | 'switch' | 'event';

export interface PropertyMeaning {
  component: Component;
  device_class?: string;
  unit?: string;
  state_class?: 'measurement' | 'total_increasing';
  icon?: string;
  entity_category?: 'diagnostic';
  /** For binary_sensor/switch: the state value that means "on". */
  on_value?: boolean | string | number;
}

const measurement = (device_class: string | undefined, unit: string | undefined): PropertyMeaning => ({
  component: 'sensor',
  ...(device_class ? { device_class } : {}),
  ...(unit ? { unit } : {}),
  state_class: 'measurement',
});

export const PROPERTY_MEANINGS: Readonly<Record<string, PropertyMeaning>> = {
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
  on_off: { component: 'switch', on_value: true },
  contact: { component: 'binary_sensor', device_class: 'door', on_value: false },
  occupancy: { component: 'binary_sensor', device_class: 'occupancy', on_value: true },
  motion: { component: 'binary_sensor', device_class: 'motion', on_value: true },
  button: { component: 'event' },
  action: { component: 'event' },
};

/** The meaning of a property: exact name first, then a known name followed by `_...` (`temperature_sensor_1`). */
export function meaningOf(property: string): PropertyMeaning | undefined {
  const exact = PROPERTY_MEANINGS[property];
  if (exact) return exact;
  // Numbered instances mean the same (temperature_1, the second LwM2M sensor; temperature_sensor_2, a BLE
  // characteristic named by its 0x2901 description); battery_low, battery_voltage or voltage_mv do not.
  if (!/_\d+$/.test(property)) return undefined;
  for (let i = property.indexOf('_'); i > 0; i = property.indexOf('_', i + 1)) {
    const m = PROPERTY_MEANINGS[property.slice(0, i)];
    if (m && (m.component === 'sensor' || m.component === 'event')) return m;
  }
  return undefined;
}
