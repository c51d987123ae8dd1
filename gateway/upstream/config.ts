import { z } from 'zod';

const topicMappingSchema = z
  .object({
    pattern: z
      .string()
      .min(1)
      .describe('MQTT filter below the prefixes, e.g. `#`, `+/set` (like a Mosquitto `topic` line)'),
    direction: z.enum(['out', 'in', 'both']).default('out').describe('out = local to upstream, in = upstream to local'),
    qos: z
      .union([z.literal(0), z.literal(1), z.literal(2)])
      .default(1)
      .describe('QoS used on the upstream side'),
    local_prefix: z.string().optional().describe('Prepended locally; default `<base_topic>/`'),
    remote_prefix: z.string().optional().describe('Prepended upstream; default `<bridge.remote_prefix><gateway.id>/`'),
  })
  .strict();

const tlsSchema = z
  .object({
    ca: z.string().optional().describe('PEM CA bundle file that signed the upstream server certificate'),
    cert: z.string().optional().describe('PEM client certificate file (mutual TLS)'),
    key: z.string().optional().describe('PEM client private key file (mutual TLS)'),
    servername: z.string().optional().describe('SNI server name; default the URL host'),
    verify: z.boolean().default(true).describe('Verify the server certificate (never turn off in production)'),
  })
  .strict()
  .refine((t) => (t.cert === undefined) === (t.key === undefined), 'tls.cert and tls.key go together');

export const queueConfigSchema = z
  .object({
    max_bytes: z
      .number()
      .int()
      .min(1024 * 1024)
      .default(512 * 1024 * 1024)
      .describe('Disk budget of the store-and-forward queue'),
    max_age: z
      .number()
      .int()
      .positive()
      .default(7 * 24 * 3600)
      .describe('Seconds; older queued messages are dropped (counted, reported)'),
    when_full: z
      .enum(['drop_oldest', 'drop_newest'])
      .default('drop_oldest')
      .describe('What to drop when max_bytes is reached; always counted and reported on bridge/event and /metrics'),
    fsync: z
      .enum(['always', 'interval', 'never'])
      .default('always')
      .describe(
        'always: a publish is acknowledged locally only after its bytes are fsynced (group commit); ' +
          'interval: fsync every fsync_interval ms (a power loss can lose that window); never: leave it to the OS',
      ),
    fsync_interval: z.number().int().positive().default(200).describe('Milliseconds, for fsync: interval'),
    segment_bytes: z
      .number()
      .int()
      .min(64 * 1024)
      .default(16 * 1024 * 1024)
      .describe('Size of one queue file; drop_oldest drops whole files'),
  })
  .strict();

/** `bridge:` in the config file: the upstream (cloud) MQTT bridge. */
export const upstreamConfigSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Bridge local topics to an upstream MQTT broker'),
    url: z
      .string()
      .regex(/^(mqtts?|wss?):\/\/[^/]+/, 'a URL like mqtts://broker.example.com:8883 (mqtt, mqtts, ws or wss)')
      .default('mqtt://127.0.0.1:1883')
      .describe('Upstream broker URL: mqtt://, mqtts://, ws:// or wss://'),
    client_id: z.string().min(1).optional().describe('Default `zephyr2mqtt-<gateway.id>`'),
    username: z.string().optional(),
    password: z
      .string()
      .optional()
      .describe('Prefer an environment variable reference or password_file over a literal'),
    password_file: z.string().optional().describe('File holding the password (trailing newline ignored)'),
    protocol_version: z.enum(['3.1.1', '5']).default('5').describe('MQTT protocol version towards upstream'),
    keepalive: z.number().int().min(0).max(65535).default(60).describe('Seconds'),
    clean_session: z.boolean().default(false).describe('false = persistent session (inbound QoS 1 kept while away)'),
    session_expiry: z.number().int().min(0).default(86_400).describe('Seconds, MQTT 5 persistent sessions'),
    tls: tlsSchema.optional().describe('TLS options for mqtts:// and wss://'),
    remote_prefix: z.string().default('').describe('Upstream topic root; topics go to `<remote_prefix><gateway.id>/`'),
    state_topic: z
      .string()
      .optional()
      .describe(
        'Retained {"state":"online|offline"} (LWT) upstream; default `<remote_prefix><gateway.id>/bridge/state`',
      ),
    bridge_topics: z
      .boolean()
      .default(true)
      .describe(
        "Send the gateway's own <base_topic>/bridge/* topics (info, event, devices...) upstream too; false for brokers whose policy does not cover them",
      ),
    link_state: z
      .boolean()
      .default(true)
      .describe(
        'Publish the link state on state_topic (online on connect, offline as last will); false for brokers that refuse it',
      ),
    retain: z
      .enum(['keep', 'strip'])
      .default('keep')
      .describe(
        'keep: retain flags go upstream as published locally; strip: never retain upstream (brokers without retained messages, e.g. Azure IoT Hub). MQTT 5 brokers announcing Retain Available 0 are stripped anyway',
      ),
    max_qos: z
      .union([z.literal(0), z.literal(1), z.literal(2)])
      .default(2)
      .describe(
        'Highest QoS sent upstream (higher mappings are downgraded); MQTT 5: also the Maximum QoS the broker announces. Set 1 for MQTT 3.1.1 brokers without QoS 2 (AWS IoT Core)',
      ),
    topics: z
      .array(topicMappingSchema)
      .default([{ pattern: '#', direction: 'out', qos: 1 }])
      .describe('Topic mappings; default: everything below the base topic out'),
    reconnect_min: z.number().positive().default(1).describe('Seconds, first reconnect delay (jittered)'),
    reconnect_max: z.number().positive().default(60).describe('Seconds, reconnect back-off ceiling'),
    connect_timeout: z.number().positive().default(15).describe('Seconds'),
    max_inflight: z.number().int().min(1).max(65535).default(256).describe('Unacknowledged QoS 1/2 messages upstream'),
    drain_rate: z
      .number()
      .min(0)
      .default(0)
      .describe('Messages/s while draining a backlog after reconnect; 0 = as fast as the upstream acknowledges'),
    queue: queueConfigSchema.prefault({}),
  })
  .strict()
  .refine(
    (c) => !(c.password !== undefined && c.password_file !== undefined),
    'set password or password_file, not both',
  )
  .describe('Upstream MQTT bridge with durable store-and-forward');
export type UpstreamConfig = z.infer<typeof upstreamConfigSchema>;
export type UpstreamConfigInput = z.input<typeof upstreamConfigSchema>;
export type TopicMapping = z.infer<typeof topicMappingSchema>;
export type QueueConfig = z.infer<typeof queueConfigSchema>;
