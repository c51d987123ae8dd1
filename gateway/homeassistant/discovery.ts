// Home Assistant MQTT discovery: one retained config message per known property of every device,
// removed when the device goes, re-sent when Home Assistant announces itself online.
import { VERSION } from '../version.js';
import { stableIdentity } from './identity.js';
import { applyOverrides, entityWanted, type HomeAssistantOverrides, overridesOf } from './overrides.js';
import { fitsValue, meaningOf, type PropertyMeaning } from './properties.js';

export interface DiscoveryDevice {
  id: string;
  name?: string | undefined;
  transport: string;
  state: Record<string, unknown>;
  info: Record<string, unknown>;
  /** The device's config entry: its match keys give the unique_ids a stable identity (else the id is used). */
  config?: Record<string, unknown> | undefined;
}

export interface DiscoveryOptions {
  gatewayId: string;
  baseTopic: string;
  discoveryPrefix: string;
}

export interface DiscoveryMessage {
  topic: string;
  /** undefined = clear the retained config (entity removed). */
  payload: Record<string, unknown> | undefined;
}

export function discoveryObjectId(opts: DiscoveryOptions, deviceId: string): string {
  return `${opts.gatewayId}_${deviceId}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

export function discoveryTopic(opts: DiscoveryOptions, component: string, deviceId: string, property: string): string {
  return `${opts.discoveryPrefix}/${component}/${discoveryObjectId(opts, deviceId)}/${topicSafe(property)}/config`;
}

/**
 * Discovery messages for every property of the device that has a known meaning and fits its value, and for the
 * `remembered` ones the state does not hold now (an event leaves the state once it is published).
 */
export function discoveryMessages(
  opts: DiscoveryOptions,
  device: DiscoveryDevice,
  remembered: Iterable<string> = [],
): DiscoveryMessage[] {
  const out: DiscoveryMessage[] = [];
  const overrides = overridesOf(device.config);
  if (overrides === false) return out;
  for (const property of new Set([...Object.keys(device.state), ...remembered])) {
    const meaning = meaningOf(property);
    if (!meaning || !fitsValue(meaning, device.state[property]) || !entityWanted(overrides, property)) continue;
    out.push({
      topic: discoveryTopic(opts, meaning.component, device.id, property),
      payload: entityConfig(opts, device, property, meaning, overrides),
    });
  }
  return out;
}

export function removalMessages(
  opts: DiscoveryOptions,
  deviceId: string,
  properties: Iterable<string>,
): DiscoveryMessage[] {
  const out: DiscoveryMessage[] = [];
  for (const property of properties) {
    const meaning = meaningOf(property);
    if (meaning) out.push({ topic: discoveryTopic(opts, meaning.component, deviceId, property), payload: undefined });
  }
  return out;
}

function entityConfig(
  opts: DiscoveryOptions,
  device: DiscoveryDevice,
  property: string,
  meaning: PropertyMeaning,
  overrides: HomeAssistantOverrides,
): Record<string, unknown> {
  const stateTopic = `${opts.baseTopic}/${device.id}`;
  const objectId = discoveryObjectId(opts, device.id);
  const identity = identityId(opts, device);
  const config: Record<string, unknown> = {
    name: humanize(property),
    unique_id: `${identity}_${topicSafe(property)}`,
    default_entity_id: `${meaning.component}.${slug(`${objectId}_${property}`)}`,
    state_topic: stateTopic,
    availability: [
      { topic: `${opts.baseTopic}/bridge/state`, value_template: '{{ value_json.state }}' },
      { topic: `${stateTopic}/availability`, value_template: '{{ value_json.state }}' },
    ],
    availability_mode: 'all',
    device: {
      identifiers: [`zephyr2mqtt_${identity}`],
      name: device.name ?? device.id,
      manufacturer: stringInfo(device.info, 'manufacturer') ?? 'Zephyr',
      model: stringInfo(device.info, 'model') ?? `${device.transport} device`,
      ...(stringInfo(device.info, 'firmware_revision')
        ? { sw_version: stringInfo(device.info, 'firmware_revision') }
        : {}),
      ...(stringInfo(device.info, 'serial_number') ? { serial_number: stringInfo(device.info, 'serial_number') } : {}),
      via_device: bridgeIdentifier(opts),
    },
    origin: { name: 'zephyr2mqtt', sw_version: VERSION, support_url: 'https://github.com/zephyr2mqtt/zephyr2mqtt' },
  };
  if (meaning.device_class) config.device_class = meaning.device_class;
  if (meaning.unit) config.unit_of_measurement = meaning.unit;
  if (meaning.state_class) config.state_class = meaning.state_class;
  if (meaning.icon) config.icon = meaning.icon;
  if (meaning.entity_category) config.entity_category = meaning.entity_category;
  switch (meaning.component) {
    case 'sensor':
      config.value_template = `{{ ${jsonValue(property)} }}`;
      break;
    case 'binary_sensor':
      config.value_template = `{{ 'ON' if ${jsonValue(property)} == ${jinjaLiteral(meaning.on_value)} else 'OFF' }}`;
      config.payload_on = 'ON';
      config.payload_off = 'OFF';
      break;
    case 'switch':
      config.value_template = `{{ 'ON' if ${jsonValue(property)} == ${jinjaLiteral(meaning.on_value)} else 'OFF' }}`;
      config.state_on = 'ON';
      config.state_off = 'OFF';
      config.command_topic = `${stateTopic}/set`;
      config.payload_on = JSON.stringify({ [property]: meaning.on_value ?? true });
      config.payload_off = JSON.stringify({
        [property]: meaning.off_value ?? (meaning.on_value === true ? false : !meaning.on_value),
      });
      break;
    case 'update':
      // Installs from the device's own firmware/<id>/ (ota_update without a file), as Zigbee2MQTT's entity does.
      config.value_template = "{{ value_json['update']['installed_version'] }}";
      config.latest_version_topic = stateTopic;
      config.latest_version_template = "{{ value_json['update']['latest_version'] }}";
      config.command_topic = `${opts.baseTopic}/bridge/request/device/ota_update/update`;
      config.payload_install = JSON.stringify({ id: device.id });
      break;
    case 'event':
      // The gateway publishes each press once, not retained, as {"event_type": ...} (HA's expected payload): on the
      // state topic the last press would fire again with every later report.
      // Zephyr samples' and BTHome's names (an event type outside the list is refused by HA).
      config.event_types = [...(meaning.event_types ?? EVENT_TYPES)];
      config.state_topic = `${stateTopic}/${property}/event`;
      break;
  }
  applyOverrides(config, overrides, property);
  return config;
}

const EVENT_TYPES = [
  'single',
  'double',
  'long',
  'press',
  'release',
  'double_press',
  'triple_press',
  'long_press',
  'long_double_press',
  'long_triple_press',
  'hold_press',
] as const;

/** `<gateway>_<stable identity>`, or `<gateway>_<device id>` for a device without one (what every id was before). */
function identityId(opts: DiscoveryOptions, device: DiscoveryDevice): string {
  const stable = stableIdentity(device.transport, device.config);
  if (stable !== undefined) return topicSafe(`${opts.gatewayId}_${stable}`);
  // A CoAP device renamed keeps its first id as ps_id (the id in /ps/<id>): the ids it had before the rename.
  const psId = device.config?.ps_id;
  return discoveryObjectId(opts, typeof psId === 'string' && psId.length > 0 ? psId : device.id);
}

/** Discovery object ids take only `[a-zA-Z0-9_-]` (HA ignores a topic with anything else). */
export function topicSafe(property: string): string {
  return property.replace(/[^a-zA-Z0-9_-]/g, '_');
}

/** `value_json.x`, or `value_json["x.y"]` for a name that is not a plain identifier (a '.' or '-' would be an
 * attribute access or a subtraction in the template). */
function jsonValue(property: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(property)
    ? `value_json.${property}`
    : `value_json[${JSON.stringify(property)}]`;
}

/** Entity ids are lowercase `[a-z0-9_]` slugs. */
function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
}

function humanize(property: string): string {
  const words = property.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function jinjaLiteral(v: unknown): string {
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'number') return String(v);
  return `'${String(v ?? 'ON')}'`;
}

function stringInfo(info: Record<string, unknown>, key: string): string | undefined {
  const v = info[key];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** The HA device identifier of the gateway itself: every device's `via_device`. */
export function bridgeIdentifier(opts: DiscoveryOptions): string {
  return `zephyr2mqtt_bridge_${opts.gatewayId}`;
}

/** The gateway itself as an HA device (what every device's `via_device` names), with its connection state. */
export function bridgeMessage(opts: DiscoveryOptions): DiscoveryMessage {
  const objectId = `${opts.gatewayId}_bridge`;
  return {
    topic: `${opts.discoveryPrefix}/binary_sensor/${topicSafe(objectId)}/connection_state/config`,
    payload: {
      name: 'Connection state',
      unique_id: `${topicSafe(objectId)}_connection_state`,
      default_entity_id: `binary_sensor.${slug(`${objectId}_connection_state`)}`,
      state_topic: `${opts.baseTopic}/bridge/state`,
      value_template: '{{ value_json.state }}',
      payload_on: 'online',
      payload_off: 'offline',
      device_class: 'connectivity',
      entity_category: 'diagnostic',
      device: {
        identifiers: [bridgeIdentifier(opts)],
        name: `zephyr2mqtt ${opts.gatewayId}`,
        manufacturer: 'zephyr2mqtt',
        model: 'Gateway',
        sw_version: VERSION,
      },
      origin: { name: 'zephyr2mqtt', sw_version: VERSION, support_url: 'https://github.com/zephyr2mqtt/zephyr2mqtt' },
    },
  };
}
