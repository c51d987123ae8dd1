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

// https://www.home-assistant.io/integrations/sensor#device-class (subset used)
const SENSOR_CLASSES = [
  'temperature',
  'humidity',
  'pressure',
  'illuminance',
  'battery',
  'voltage',
  'current',
  'power',
  'energy',
  'carbon_dioxide',
  'pm25',
  'pm10',
  'volatile_organic_compounds',
  'moisture',
  'distance',
  'signal_strength',
] as const;

export const haSensor = z.strictObject({
  ...common,
  device_class: z.enum(SENSOR_CLASSES).optional(),
  unit_of_measurement: z.string().optional(),
  state_class: z.enum(['measurement', 'total', 'total_increasing']).optional(),
});

export const haBinarySensor = z.strictObject({
  ...common,
  device_class: z.enum(['door', 'occupancy', 'motion', 'window', 'moisture', 'connectivity']).optional(),
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

export const haSchemaFor = {
  sensor: haSensor,
  binary_sensor: haBinarySensor,
  switch: haSwitch,
  event: haEvent,
} as const;
