// The config file's schema: the single source of truth for validation, types, the JSON Schema in
// docs/config.schema.json and the reference in docs/config.md (npm run docs).
import { z } from 'zod';
import { bleAdapterConfigSchema, bleDeviceSchema } from '../../adapters/ble/config.js';
import { coapAdapterConfigSchema, coapDeviceSchema } from '../../adapters/coap/config.js';
import { serialAdapterConfigSchema, serialDeviceSchema } from '../../adapters/serial/config.js';
import { upstreamConfigSchema } from '../upstream/config.js';
import { deviceBaseShape } from './device-base.js';

export const CONFIG_FORMAT_VERSION = 1;

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const port = z.number().int().min(0).max(65535);

const listenerSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('mqtt'),
    host: z.string().default('127.0.0.1').describe('Address to bind'),
    port: port.default(1883),
  }),
  z.object({
    type: z.literal('mqtts'),
    host: z.string().default('127.0.0.1'),
    port: port.default(8883),
    cert: z.string().describe('PEM certificate chain file'),
    key: z.string().describe('PEM private key file'),
    ca: z.string().optional().describe('PEM CA bundle: when set, clients must present a certificate it signed'),
  }),
  z.object({
    type: z.literal('ws'),
    host: z.string().default('127.0.0.1'),
    port: port.default(8083),
    path: z.string().default('/mqtt').describe('HTTP path of the WebSocket endpoint'),
  }),
]);

const aclRuleSchema = z.object({
  allow: z.enum(['publish', 'subscribe', 'both']).describe('What the rule permits'),
  topic: z.string().min(1).describe('MQTT filter; `%u` is replaced by the username, `%c` by the client id'),
});

const userSchema = z.object({
  username: z.string().min(1),
  password_hash: z.string().regex(/^scrypt\$/, 'a hash made by `zephyr2mqtt passwd USER` (starts with "scrypt$")'),
  acl: z.array(aclRuleSchema).default([{ allow: 'both', topic: '#' }]),
});

export const brokerConfigSchema = z
  .object({
    listeners: z
      .array(listenerSchema)
      .min(1)
      .default([{ type: 'mqtt', host: '127.0.0.1', port: 1883 }]),
    allow_anonymous: z.boolean().default(false).describe('Accept clients without credentials'),
    anonymous_acl: z.array(aclRuleSchema).default([{ allow: 'both', topic: '#' }]),
    users: z.array(userSchema).default([]),
    max_packet_size: z.number().int().positive().default(262_144).describe('Bytes; larger packets close the client'),
    max_inflight: z.number().int().positive().default(100),
    max_queued: z.number().int().positive().default(1000).describe('Offline messages kept per persistent session'),
    persistence: z.boolean().default(true).describe('Keep retained messages and persistent sessions on disk'),
  })
  .describe('Embedded MQTT broker');

export const configSchema = z.object({
  version: z.literal(CONFIG_FORMAT_VERSION).default(CONFIG_FORMAT_VERSION).describe('Config format version'),
  gateway: z
    .object({
      id: z
        .string()
        .regex(/^[A-Za-z0-9_-]+$/)
        .default('zephyr2mqtt')
        .describe('Gateway id (upstream topics, HA)'),
      base_topic: z
        .string()
        .regex(/^[^#+]+$/, 'no MQTT wildcards')
        .default('zephyr2mqtt')
        .describe('Root of every topic'),
      data_dir: z.string().default('./data').describe('Broker persistence, upstream queue, adapter state'),
      log_level: logLevel.default('info'),
      log_levels: z.record(z.string(), logLevel).default({}).describe('Per-module levels, e.g. {coap: debug}'),
    })
    .prefault({}),
  broker: brokerConfigSchema.prefault({}),
  http: z
    .object({
      enabled: z.boolean().default(true),
      host: z.string().default('127.0.0.1'),
      port: port.default(8080),
    })
    .prefault({})
    .describe('Health, metrics and dashboard'),
  api: z
    .object({
      property_topics: z.boolean().default(false).describe('Also publish `<base>/<device>/<property>` plain values'),
      availability_timeout: z.number().int().positive().default(600).describe('Default seconds to offline'),
    })
    .prefault({}),
  adapters: z
    .object({
      coap: coapAdapterConfigSchema.prefault({}),
      serial: serialAdapterConfigSchema.prefault({}),
      ble: bleAdapterConfigSchema.prefault({}),
    })
    .prefault({}),
  bridge: upstreamConfigSchema.prefault({}),
  devices: z
    .array(
      z.discriminatedUnion('transport', [
        coapDeviceSchema.extend(deviceBaseShape),
        serialDeviceSchema.extend(deviceBaseShape),
        bleDeviceSchema.extend(deviceBaseShape),
      ]),
    )
    .default([]),
});

export type GatewayConfig = z.infer<typeof configSchema>;
export type GatewayConfigInput = z.input<typeof configSchema>;
export type DeviceConfig = GatewayConfig['devices'][number];
export type ListenerConfig = GatewayConfig['broker']['listeners'][number];
export type BrokerConfig = GatewayConfig['broker'];
