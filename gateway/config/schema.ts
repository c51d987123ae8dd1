// The config file's schema: the single source of truth for validation, types, the JSON Schema in
// docs/config.schema.json and the reference in docs/config.md (npm run docs).
// Objects are strict: a misspelt key is an error, not a silently ignored setting.
import { z } from 'zod';
import { bleAdapterConfigSchema, bleDeviceSchema } from '../../adapters/ble/config.js';
import { checkCoapDevice, coapAdapterConfigSchema, coapDeviceSchema } from '../../adapters/coap/config.js';
import { checkPortChoice, serialAdapterConfigSchema, serialDeviceSchema } from '../../adapters/serial/config.js';
import { BRIDGE_LOGGING_LEVELS } from '../api/bridge-logging.js';
import { proxyEntryProblem } from '../dashboard/trusted-proxies.js';
import { LAST_SEEN_FORMATS } from '../devices/last-seen.js';
import { homeAssistantConfigSchema } from '../homeassistant/config.js';
import { upstreamConfigSchema } from '../upstream/config.js';
import { BASE_TOPIC_PATTERN, checkBaseTopic } from './base-topic.js';
import { blockEntrySchema } from './blocklist-schema.js';
import { checkAcrossKeys } from './cross-checks.js';
import { checkDeviceBase, deviceBaseShape } from './device-base.js';
import { jsonRules } from './json-rules.js';

export const CONFIG_FORMAT_VERSION = 1;

/** Settings a reload does not apply: the running value stays until the next restart (and the reload says so). */
export const RESTART_ONLY = [
  'broker',
  'http',
  'gateway.id',
  'gateway.base_topic',
  'gateway.data_dir',
  'homeassistant.discovery_prefix',
  'homeassistant.status_topic',
] as const;

/** Marks a RESTART_ONLY setting in its description (docs/config.md). */
function restartOnly<T extends z.ZodType>(schema: T, description = schema.description ?? ''): T {
  return schema.describe(`${description} (needs a restart to change)`);
}

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const port = z.number().int().min(0).max(65535);

const listenerSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('mqtt'),
    host: z.string().default('127.0.0.1').describe('Address to bind'),
    port: port.default(1883),
  }),
  z.strictObject({
    type: z.literal('mqtts'),
    host: z.string().default('127.0.0.1'),
    port: port.default(8883),
    cert: z.string().describe('PEM certificate chain file'),
    key: z.string().describe('PEM private key file'),
    ca: z.string().optional().describe('PEM CA bundle: when set, clients must present a certificate it signed'),
  }),
  z.strictObject({
    type: z.literal('ws'),
    host: z.string().default('127.0.0.1'),
    port: port.default(8083),
    path: z.string().default('/mqtt').describe('HTTP path of the WebSocket endpoint'),
    allowed_origins: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Web pages (origins such as `https://app.example:8443`) allowed to connect from a browser; `*` allows any. ' +
          'Handshakes with another `Origin` header are refused (clients other than browsers send none)',
      ),
  }),
]);

const aclRuleSchema = z.strictObject({
  allow: z.enum(['publish', 'subscribe', 'both']).describe('What the rule permits'),
  topic: z.string().min(1).describe('MQTT filter; `%u` is replaced by the username, `%c` by the client id'),
});

const userSchema = z.strictObject({
  username: z.string().min(1),
  password_hash: z
    .string()
    .regex(/^scrypt\$/, 'a hash made by `zephyr2mqtt passwd USER` (starts with "scrypt$")')
    .describe('Print one with `zephyr2mqtt passwd USER`; never the plain password'),
  acl: z.array(aclRuleSchema).default([{ allow: 'both', topic: '#' }]),
});

export const brokerConfigSchema = z
  .strictObject({
    listeners: z
      .array(listenerSchema)
      .min(1)
      .default([{ type: 'mqtt', host: '127.0.0.1', port: 1883 }]),
    allow_anonymous: z.boolean().default(false).describe('Accept clients without credentials'),
    anonymous_acl: z.array(aclRuleSchema).default([{ allow: 'both', topic: '#' }]),
    users: z.array(userSchema).default([]),
    max_packet_size: z.number().int().positive().default(262_144).describe('Bytes; larger packets close the client'),
    max_inflight: z.number().int().positive().default(100),
    max_queued: z.number().int().positive().default(1000).describe('Messages kept per persistent session'),
    session_expiry: z
      .number()
      .int()
      .nonnegative()
      .default(2_592_000)
      .describe('Seconds a persistent session is kept while its client is away (default 30 days; 0: for ever)'),
    persistence: z.boolean().default(true).describe('Keep retained messages and persistent sessions on disk'),
  })
  .describe('Embedded MQTT broker (needs a restart to change)');

const gatewaySchema = z
  .strictObject({
    id: restartOnly(
      z
        .string()
        .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "-" and "_"')
        .default('zephyr2mqtt'),
      'Gateway id (upstream topics, HA)',
    ),
    base_topic: restartOnly(
      z.string().superRefine(checkBaseTopic).meta({ pattern: BASE_TOPIC_PATTERN }).default('zephyr2mqtt'),
      'Root of every topic: no MQTT wildcard, not starting with `$` (reserved for the broker) nor ending with `/`',
    ),
    data_dir: restartOnly(
      z.string().default('./data'),
      'Broker persistence, upstream queue, adapter state; a relative path is relative to the working directory',
    ),
    log_level: logLevel.default('info').describe('Level of every module without its own entry in `log_levels`'),
    log_levels: z
      .record(z.string(), logLevel)
      .default({})
      .describe('Per-module levels, e.g. {coap: debug, broker: warn}; `LOG_LEVELS=coap=debug,broker=warn` overrides'),
  })
  .prefault({});

const httpSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    host: z.string().default('127.0.0.1'),
    port: port.default(8080),
    allowed_hosts: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'Host names (no port) this listener answers to besides localhost, IP addresses, `host` and the machine name; ' +
          'requests for other names get 421 (stops DNS rebinding)',
      ),
    dashboard: z.boolean().default(true).describe('Serve the web dashboard on this listener'),
    trusted_proxies: z
      .array(
        z.string().superRefine((entry, ctx) => {
          const hint = proxyEntryProblem(entry);
          if (hint)
            ctx.addIssue({ code: 'custom', message: 'an IP address or CIDR range', input: entry, params: { hint } });
        }),
      )
      .default([])
      .describe(
        'Reverse proxies (IP addresses or CIDR ranges, e.g. ["127.0.0.1", "10.0.0.0/8"]) whose `X-Forwarded-For` ' +
          'the dashboard believes: from these peers the client address (login throttle, event stream limits, log ' +
          'lines) is the rightmost `X-Forwarded-For` entry that is not one of them. Empty: the header is ignored',
      ),
  })
  .prefault({})
  .describe('Health, metrics and dashboard (needs a restart to change)');

/** The `api` section; `transport_availability_timeouts` takes only the transports there are. */
function apiSchema(transports: readonly string[]) {
  const seconds = z.number().int().positive();
  const perTransport = transports.map((t) => [t, seconds.optional().describe(`Seconds for ${t} devices`)] as const);
  return z
    .strictObject({
      property_topics: z.boolean().default(false).describe('Also publish `<base>/<device>/<property>` plain values'),
      bridge_logging: z
        .enum(BRIDGE_LOGGING_LEVELS)
        .default('info')
        .describe(
          'Publish log lines at this level and above on `<base>/bridge/logging` as Zigbee2MQTT does (`{"level", "message", "namespace"}`, not retained, at most 50 a second), or `off`. Lines below gateway.log_level are not logged, so not published either',
        ),
      last_seen: z
        .enum(LAST_SEEN_FORMATS)
        .default('ISO_8601')
        .describe(
          'The `last_seen` of device states, as Zigbee2MQTT writes it: `ISO_8601` (UTC, "2026-12-06T21:41:07.512Z"), ' +
            '`ISO_8601_local` (local time with its offset, "2026-12-06T22:41:07+01:00"), `epoch` (milliseconds, a ' +
            'number) or `disable` (none; devices then start offline after a restart, until they report). ' +
            '`bridge/devices` keeps ISO 8601',
        ),
      availability_timeout: seconds.default(600).describe('Default seconds without traffic before a device is offline'),
      transport_availability_timeouts: z
        .strictObject(Object.fromEntries(perTransport))
        .default({})
        .describe('Per-transport default seconds to offline, e.g. {ble: 300, coap: 900}; a device key overrides it'),
      max_state_properties: z
        .number()
        .int()
        .min(8)
        .max(100_000)
        .default(512)
        .describe(
          'Most properties a device state keeps (`last_seen` not counted). A message that would exceed it keeps its ' +
            'values and drops the properties first reported longest ago that it does not carry (their property ' +
            'topics are cleared, `zephyr2mqtt_state_properties_evicted_total` counts them); a message with more ' +
            'properties than this on its own is refused (CoAP 4.13, a `state_limit` decode error)',
        ),
      max_state_bytes: z
        .number()
        .int()
        .min(1024)
        .max(16_777_216)
        .default(131_072)
        .describe(
          'Largest a device state may be as JSON text, in bytes. Beyond it the properties first reported longest ' +
            'ago that the message does not carry are dropped, as for `max_state_properties`; a message whose values ' +
            'alone make a larger state is refused (CoAP 4.13, a `state_limit` decode error). Keep it at least ' +
            '`adapters.coap.max_payload`, or CoAP payloads between the two are refused',
        ),
    })
    .prefault({});
}

/** What the schema needs from an adapter module (a subset of AdapterModule, so docs need no adapter code). */
export interface AdapterSchemas {
  readonly kind: string;
  readonly configSchema: z.ZodType;
  readonly deviceSchema: z.ZodObject;
  deviceCheck?(device: Record<string, unknown>, ctx: z.RefinementCtx): void;
}

function strictIfObject<T extends z.ZodType>(schema: T): T {
  if (!(schema instanceof z.ZodObject)) return schema;
  const strict = schema.strict();
  return (schema.description ? strict.describe(schema.description) : strict) as unknown as T;
}

/** JSON Schema restatements of code checks (json-rules.ts), for z.toJSONSchema(); validation ignores them. */
function withJsonRules<T extends z.ZodType>(schema: T, rules: readonly Record<string, unknown>[] | undefined): T {
  return rules ? schema.meta({ allOf: [...rules] }) : schema;
}

function deviceEntry<S extends z.core.$ZodLooseShape>(
  kind: string,
  schema: z.ZodObject<S>,
  check?: AdapterSchemas['deviceCheck'],
) {
  const entry = schema.extend(deviceBaseShape).strict();
  return withJsonRules(
    entry.superRefine((device, ctx) => {
      checkDeviceBase(device, ctx);
      check?.(device, ctx);
    }),
    [...(jsonRules.devices[kind] ?? []), ...jsonRules.deviceBase],
  );
}

function adapterSection(kind: string, schema: z.ZodType) {
  return withJsonRules(strictIfObject(schema).prefault({}), jsonRules.adapters[kind]);
}

/** `homeassistant:`, strict like every other section, with its restart-only keys marked. */
const homeAssistantSchema = withJsonRules(
  homeAssistantConfigSchema
    .extend({
      discovery_prefix: restartOnly(homeAssistantConfigSchema.shape.discovery_prefix),
      status_topic: restartOnly(homeAssistantConfigSchema.shape.status_topic),
    })
    .strict()
    .describe(homeAssistantConfigSchema.description ?? '')
    .prefault({}),
  jsonRules.homeassistant,
);

/** Runs even when some entries are invalid (see `when` below), so a duplicate is never hidden by another error. */
function uniqueDeviceIds(devices: readonly unknown[], ctx: z.RefinementCtx): void {
  const first = new Map<string, number>();
  devices.forEach((d, i) => {
    const id = d && typeof d === 'object' ? (d as { id?: unknown }).id : undefined;
    if (typeof id !== 'string') return;
    const j = first.get(id);
    if (j === undefined) first.set(id, i);
    else
      ctx.addIssue({
        code: 'custom',
        path: [i, 'id'],
        message: `duplicate device id "${id}" (devices[${j}])`,
        params: { hint: 'give every device its own id: it names the device in MQTT topics' },
      });
  });
}

function rootSchema<A extends z.ZodType, D extends z.ZodType>(adapters: A, device: D, transports: readonly string[]) {
  return z
    .strictObject({
      version: z
        .number()
        .int()
        .pipe(z.literal(CONFIG_FORMAT_VERSION))
        .default(CONFIG_FORMAT_VERSION)
        .describe('Config format version (older files are migrated on load)')
        .meta({ const: CONFIG_FORMAT_VERSION }),
      gateway: gatewaySchema,
      broker: brokerConfigSchema.prefault({}),
      http: httpSchema,
      api: apiSchema(transports),
      adapters,
      bridge: withJsonRules(upstreamConfigSchema.prefault({}), jsonRules.bridge),
      homeassistant: homeAssistantSchema,
      devices: z
        .array(device)
        .superRefine(uniqueDeviceIds, { when: (payload) => Array.isArray(payload.value) })
        .default([])
        .describe('Configured devices'),
      blocklist: z
        .array(blockEntrySchema(transports as [string, ...string[]]))
        .max(10_000)
        .default([])
        .describe(
          "Devices that are not announced (device_seen_unknown) or accepted while unknown, as Zigbee2MQTT's `blocklist`: " +
            '`device/remove` with `block: true` adds the removed device. A configured device is served whatever this says. ' +
            'Remove an entry (here, or with bridge/request/options) to let the device be announced again',
        ),
    })
    .superRefine(checkAcrossKeys)
    .meta(jsonRules.root);
}

export const configSchema = rootSchema(
  z
    .strictObject({
      coap: adapterSection('coap', coapAdapterConfigSchema),
      serial: adapterSection('serial', serialAdapterConfigSchema),
      ble: adapterSection('ble', bleAdapterConfigSchema),
    })
    .prefault({}),
  z.discriminatedUnion('transport', [
    deviceEntry('coap', coapDeviceSchema, checkCoapDevice),
    deviceEntry('serial', serialDeviceSchema, checkPortChoice),
    deviceEntry('ble', bleDeviceSchema),
  ]),
  ['coap', 'serial', 'ble'],
);

/** The schema for a given set of adapter modules (the gateway's, plus any a test or plugin adds). */
export function buildConfigSchema(modules: readonly AdapterSchemas[]): typeof configSchema {
  const adapters = z
    .strictObject(Object.fromEntries(modules.map((m) => [m.kind, adapterSection(m.kind, m.configSchema)])))
    .prefault({});
  const entries = modules.map((m) => deviceEntry(m.kind, m.deviceSchema, m.deviceCheck?.bind(m)));
  const device = z.discriminatedUnion('transport', entries as unknown as [z.ZodObject, ...z.ZodObject[]]);
  const transports = modules.map((m) => m.kind);
  return rootSchema(adapters, device, transports) as unknown as typeof configSchema;
}

export type GatewayConfig = z.infer<typeof configSchema>;
export type GatewayConfigInput = z.input<typeof configSchema>;
export type DeviceConfig = GatewayConfig['devices'][number];
export type ListenerConfig = GatewayConfig['broker']['listeners'][number];
export type BrokerConfig = GatewayConfig['broker'];
