// Every MQTT topic of the public API and the schema of every payload that crosses it.
// docs/mqtt-api.md documents the same contract for people; `ApiPayloads` maps each topic pattern to its type.
import { z } from 'zod';
import type { BridgeLogMessage } from './bridge-logging.js';

export const topics = {
  deviceState: (base: string, id: string) => `${base}/${id}`,
  deviceProperty: (base: string, id: string, property: string) => `${base}/${id}/${property}`,
  deviceAvailability: (base: string, id: string) => `${base}/${id}/availability`,
  deviceSet: (base: string, id: string) => `${base}/${id}/set`,
  deviceGet: (base: string, id: string) => `${base}/${id}/get`,
  deviceCommandError: (base: string, id: string, kind: 'set' | 'get') => `${base}/${id}/${kind}/error`,
  deviceSub: (base: string, id: string, sub: string) => `${base}/${id}/${sub}`,
  /** Not retained: `{"event_type": "<value>"}` each time a device reports a momentary property. */
  deviceEvent: (base: string, id: string, property: string) => `${base}/${id}/${property}/event`,
  bridgeState: (base: string) => `${base}/bridge/state`,
  bridgeInfo: (base: string) => `${base}/bridge/info`,
  bridgeDevices: (base: string) => `${base}/bridge/devices`,
  bridgeEvent: (base: string) => `${base}/bridge/event`,
  bridgeLogging: (base: string) => `${base}/bridge/logging`,
  bridgeRequest: (base: string, name: string) => `${base}/bridge/request/${name}`,
  bridgeResponse: (base: string, name: string) => `${base}/bridge/response/${name}`,
} as const;

/**
 * Properties that report a moment (a button press), not a state: they appear in the state message of the report
 * that carries them, are not kept in the merged state (or the next message would repeat the press), and each is
 * also published once, not retained, on `<base>/<device>/<property>/event`.
 */
export function isMomentary(property: string): boolean {
  return /^(?:action|button|dimmer)(?:_\d+)?$/.test(property);
}

/** Property names that would collide with the API's own subtopics, so they never get a property topic. */
export const RESERVED_SUBTOPICS = new Set(['availability', 'set', 'get', 'log', 'bridge', 'response', 'nus', 'lwm2m']);

/** `<base>/<device>`: merged state (retained). Values are whatever the device reported. */
export const deviceStatePayload = z.looseObject({
  linkquality: z.number().optional(),
  last_seen: z
    .union([z.string(), z.number()])
    .optional()
    .describe('Time of the last telemetry: ISO 8601 text, or ms since the epoch with api.last_seen: epoch'),
});
export type DeviceStatePayload = z.infer<typeof deviceStatePayload>;

export const availabilityPayload = z.object({ state: z.enum(['online', 'offline']) });
export type AvailabilityPayload = z.infer<typeof availabilityPayload>;

export const bridgeStatePayload = z.object({ state: z.enum(['online', 'offline']) });
export type BridgeStatePayload = z.infer<typeof bridgeStatePayload>;

/** `<base>/<device>/set` and `/get`: a JSON object. */
export const devicePayload = z.record(z.string(), z.unknown());

/** `<base>/<device>/set/error` and `/get/error` (not retained). */
export const commandErrorPayload = z.object({
  error: z.string(),
  request: z.unknown().optional(),
  payload: z.string().optional().describe('The first 256 bytes of a payload that is not JSON'),
});
export type CommandErrorPayload = z.infer<typeof commandErrorPayload>;

/** `<base>/bridge/request/<name>`: any JSON object; `transaction` is echoed in the response. */
export const requestEnvelope = z.looseObject({ transaction: z.unknown().optional() });

export const responseEnvelope = z.object({
  status: z.enum(['ok', 'error']),
  data: z.unknown(),
  error: z.string().optional(),
  transaction: z.unknown().optional(),
});
export type ResponseEnvelope = z.infer<typeof responseEnvelope>;

export const bridgeEventPayload = z.object({
  type: z.enum([
    'device_joined',
    'device_left',
    'device_seen_unknown',
    'device_renamed',
    'config_error',
    'config_reloaded',
    'adapter_status',
    'queue_dropped',
    'upstream',
    'broker',
  ]),
  data: z.record(z.string(), z.unknown()),
});
export type BridgeEventPayload = z.infer<typeof bridgeEventPayload>;

export const devicesListEntry = z.object({
  id: z.string(),
  /** Zigbee2MQTT's names for the same things, so that its clients find them: the topic name and a stable key. */
  friendly_name: z.string().describe("The id (the topic name), under Zigbee2MQTT's key"),
  ieee_address: z
    .string()
    .describe(
      "Zigbee2MQTT's stable device key: the device's own identity (BLE MAC, USB serial, LwM2M endpoint, CoAP address...) as Home Assistant's unique_ids use it, else the id",
    ),
  name: z.string().optional(),
  description: z.string().optional(),
  transport: z.string(),
  address: z.string().optional(),
  profile: z.string().optional(),
  availability: z.enum(['online', 'offline']),
  last_seen: z.string().nullable(),
  disabled: z.boolean(),
  supported: z.literal(true),
  definition: z.object({
    supports_ota: z.boolean().describe('device/ota_update can run for it'),
    exposes: z.array(z.never()).describe("Zigbee2MQTT's capability list, always there; empty: none are described"),
    options: z.array(z.never()).describe("Zigbee2MQTT's device option list, always there; empty"),
  }),
  info: z.record(z.string(), z.unknown()),
});
export type DevicesListEntry = z.infer<typeof devicesListEntry>;

export const adapterStatusPayload = z.object({
  state: z.enum(['starting', 'running', 'unavailable', 'stopped', 'failed']),
  reason: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const bridgeInfoPayload = z.object({
  version: z.string(),
  gateway_id: z.string(),
  base_topic: z.string(),
  permit_join: z.boolean(),
  permit_join_timeout: z.number().describe('Seconds left; 0 when off'),
  permit_join_end: z
    .number()
    .optional()
    .describe("When permit_join goes off, in ms since the epoch (Zigbee2MQTT 2.x's key); absent while off"),
  restart_required: z
    .boolean()
    .describe(
      'A reload changed settings that take effect only on the next restart (restart_required of config/reload)',
    ),
  log_level: z.string().describe('gateway.log_level as running (LOG_LEVEL overrides it)'),
  devices: z.number(),
  listeners: z.array(z.object({ type: z.string(), host: z.string(), port: z.number() })),
  adapters: z.record(z.string(), adapterStatusPayload),
  upstream: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('Upstream bridge status (connected, queue depth/bytes/oldest age, counters) when it is enabled'),
  config: z.object({
    version: z.number(),
    devices_per_transport: z.record(z.string(), z.number()),
    adapters_enabled: z.array(z.string()),
    property_topics: z.boolean(),
    bridge_enabled: z.boolean(),
    http: z.object({ enabled: z.boolean(), host: z.string(), port: z.number() }),
  }),
});
export type BridgeInfoPayload = z.infer<typeof bridgeInfoPayload>;

/** What a reload or onboarding edit changed (data of config/reload, device/add|remove|rename|options). */
export const configDiff = z.object({
  added: z.array(z.string()),
  removed: z.array(z.string()),
  changed: z.array(z.string()),
});
export type ConfigDiff = z.infer<typeof configDiff>;

/** device/options: the diff, and the device's entry as it ran before and after (defaults included). Device options
 * never need a restart: `restart_required` is there for Zigbee2MQTT clients. */
export const deviceOptionsData = configDiff.extend({
  id: z.string(),
  from: z.record(z.string(), z.unknown()),
  to: z.record(z.string(), z.unknown()),
  restart_required: z.literal(false),
});

/** device/remove: the diff, and Zigbee2MQTT's keys for the same answer; with `block`, the blocklist entries added. */
export const deviceRemoveData = configDiff.extend({
  id: z.string(),
  block: z.boolean(),
  force: z.boolean().describe('Echoed: removing never waits for the device, so there is nothing to force'),
  blocklist: z
    .array(z.record(z.string(), z.string()))
    .optional()
    .describe('With block: the entries that keep the device out (already there or added to the config)'),
});

/** device/rename: the diff, and Zigbee2MQTT's keys; Home Assistant's entity ids follow the stable identity, so a
 * rename needs no `homeassistant_rename`. */
export const deviceRenameData = configDiff.extend({
  from: z.string(),
  to: z.string(),
  homeassistant_rename: z.literal(false),
});

/** backup: Zigbee2MQTT's `zip` (base64), and the paths inside it. */
export const backupData = z.object({
  zip: z.string().describe('A ZIP archive, base64: backup.json, the config file, data/... (see docs/mqtt-api.md)'),
  files: z.array(z.string()),
});

export const healthCheckData = z.object({ healthy: z.boolean(), reasons: z.array(z.string()) });
export const permitJoinData = z.object({ value: z.boolean(), time: z.number() });

/** Topic pattern (below `<base>/`) -> payload type: the whole API in one place, for clients to compile against. */
export interface ApiPayloads {
  '<device>': DeviceStatePayload;
  '<device>/<property>': string;
  '<device>/availability': AvailabilityPayload;
  '<device>/set': Record<string, unknown>;
  '<device>/get': Record<string, unknown>;
  '<device>/set/error': CommandErrorPayload;
  '<device>/get/error': CommandErrorPayload;
  'bridge/state': BridgeStatePayload;
  'bridge/info': BridgeInfoPayload;
  'bridge/devices': DevicesListEntry[];
  'bridge/event': BridgeEventPayload;
  'bridge/logging': BridgeLogMessage;
  'bridge/request/<name>': z.infer<typeof requestEnvelope>;
  'bridge/response/<name>': ResponseEnvelope;
}

/** `data` of each core request's ok response. */
export interface RequestData {
  permit_join: z.infer<typeof permitJoinData>;
  health_check: z.infer<typeof healthCheckData>;
  info: BridgeInfoPayload;
  'config/reload': ConfigDiff;
  backup: z.infer<typeof backupData>;
  'device/add': ConfigDiff;
  'device/remove': z.infer<typeof deviceRemoveData>;
  'device/rename': z.infer<typeof deviceRenameData>;
  'device/options': z.infer<typeof deviceOptionsData>;
}
