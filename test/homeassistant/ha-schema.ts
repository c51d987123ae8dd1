// The subset of Home Assistant's MQTT discovery schema our payloads use, written from HA's documentation
// (integrations/mqtt: sensor, binary_sensor, switch, event; shared availability/device/origin keys).
// Strict objects: a key HA does not document for the platform fails the test.
import { z } from 'zod';

const template = z.string().regex(/\{\{.*\}\}/s, 'a Jinja template');
const topic = z
  .string()
  .min(1)
  .regex(/^[^#+]+$/, 'no wildcards in a state/command topic');

const availability = z.array(z.strictObject({ topic, value_template: template.optional() })).min(1);

const device = z.strictObject({
  identifiers: z.array(z.string().min(1)).min(1),
  name: z.string().min(1),
  manufacturer: z.string().optional(),
  model: z.string().optional(),
  sw_version: z.string().optional(),
  hw_version: z.string().optional(),
  serial_number: z.string().optional(),
  via_device: z.string().optional(),
});

const origin = z.strictObject({ name: z.string(), sw_version: z.string().optional(), support_url: z.url().optional() });

const common = {
  name: z.string().min(1),
  unique_id: z.string().min(1),
  default_entity_id: z.string().regex(/^[a-z_]+\.[a-z0-9_]+$/),
  state_topic: topic,
  availability,
  availability_mode: z.enum(['all', 'any', 'latest']),
  device,
  origin,
  icon: z.string().startsWith('mdi:').optional(),
  entity_category: z.enum(['config', 'diagnostic']).optional(),
  value_template: template,
};

// https://www.home-assistant.io/integrations/sensor#device-class (subset used), each with the units HA accepts.
const SENSOR_UNITS = {
  temperature: ['°C', '°F', 'K'],
  humidity: ['%'],
  pressure: ['cbar', 'bar', 'hPa', 'mmHg', 'inHg', 'kPa', 'mbar', 'Pa', 'psi'],
  illuminance: ['lx'],
  battery: ['%'],
  voltage: ['V', 'mV', 'µV', 'kV', 'MV'],
  current: ['A', 'mA'],
  power: ['mW', 'W', 'kW', 'MW', 'GW', 'TW'],
  energy: ['Wh', 'kWh', 'MWh', 'GWh', 'TWh', 'J', 'kJ', 'MJ', 'GJ'],
  carbon_dioxide: ['ppm'],
  pm25: ['µg/m³'],
  pm10: ['µg/m³'],
  volatile_organic_compounds: ['µg/m³', 'mg/m³'],
  moisture: ['%'],
  distance: ['km', 'm', 'cm', 'mm', 'mi', 'nmi', 'yd', 'in', 'ft'],
  speed: ['ft/s', 'in/d', 'in/h', 'in/s', 'km/h', 'kn', 'm/s', 'mph', 'mm/d', 'mm/s'],
  weight: ['kg', 'g', 'mg', 'µg', 'oz', 'lb', 'st'],
  duration: ['d', 'h', 'min', 's', 'ms'],
  conductivity: ['S/cm', 'mS/cm', 'µS/cm'],
  precipitation: ['cm', 'in', 'mm'],
  volume: ['L', 'mL', 'gal', 'fl. oz.', 'm³', 'ft³', 'CCF'],
  volume_storage: ['L', 'mL', 'gal', 'fl. oz.', 'm³', 'ft³', 'CCF'],
  volume_flow_rate: ['m³/h', 'm³/s', 'ft³/min', 'L/h', 'L/min', 'L/s', 'gal/min', 'mL/s'],
  gas: ['m³', 'ft³', 'CCF', 'L'],
  water: ['L', 'gal', 'm³', 'ft³', 'CCF'],
  signal_strength: ['dB', 'dBm'],
} as const satisfies Record<string, readonly string[]>;

/** Device classes HA accepts only as totals (a meter reading, not a measurement). */
const TOTAL_ONLY = new Set(['energy', 'gas', 'water']);

export const haSensor = z
  .strictObject({
    ...common,
    device_class: z.enum(Object.keys(SENSOR_UNITS) as [keyof typeof SENSOR_UNITS]).optional(),
    unit_of_measurement: z.string().optional(),
    state_class: z.enum(['measurement', 'total', 'total_increasing']).optional(),
  })
  .superRefine((c, ctx) => {
    if (!c.device_class) return;
    const units: readonly string[] = SENSOR_UNITS[c.device_class];
    if (!units.includes(c.unit_of_measurement ?? ''))
      ctx.addIssue({ code: 'custom', message: `${c.unit_of_measurement} is not a unit of ${c.device_class}` });
    if (TOTAL_ONLY.has(c.device_class) && c.state_class === 'measurement')
      ctx.addIssue({ code: 'custom', message: `${c.device_class} cannot be a measurement` });
  });

// https://www.home-assistant.io/integrations/binary_sensor#device-class
const BINARY_CLASSES = [
  'battery',
  'battery_charging',
  'carbon_monoxide',
  'cold',
  'connectivity',
  'door',
  'garage_door',
  'gas',
  'heat',
  'light',
  'lock',
  'moisture',
  'motion',
  'moving',
  'occupancy',
  'opening',
  'plug',
  'power',
  'presence',
  'problem',
  'running',
  'safety',
  'smoke',
  'sound',
  'tamper',
  'update',
  'vibration',
  'window',
] as const;

export const haBinarySensor = z.strictObject({
  ...common,
  device_class: z.enum(BINARY_CLASSES).optional(),
  payload_on: z.string(),
  payload_off: z.string(),
});

/** The gateway's own connection state: its state topic is the availability, so it has none of its own. */
export const haBridgeConnection = haBinarySensor.omit({ availability: true, availability_mode: true });

export const haSwitch = z.strictObject({
  ...common,
  command_topic: topic,
  payload_on: z.string(),
  payload_off: z.string(),
  state_on: z.string(),
  state_off: z.string(),
});

// value_template is optional for an event: the payload is HA's own {"event_type": ...}.
export const haEvent = z.strictObject({
  ...common,
  value_template: template.optional(),
  event_types: z.array(z.string()).min(1),
});

// https://www.home-assistant.io/integrations/update.mqtt: the installed version from state_topic, the latest from
// latest_version_topic, payload_install sent to command_topic.
export const haUpdate = z.strictObject({
  ...common,
  device_class: z.literal('firmware'),
  latest_version_topic: topic,
  latest_version_template: template,
  command_topic: topic,
  payload_install: z.string().min(1),
});

export const haSchemaFor = {
  sensor: haSensor,
  binary_sensor: haBinarySensor,
  switch: haSwitch,
  event: haEvent,
  update: haUpdate,
} as const;
