import { z } from 'zod';

/** `adapters.coap.lwm2m`: the LwM2M server running on the CoAP adapter's socket. */
export const lwm2mServerConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve the LwM2M registration interface (/rd) on the CoAP port'),
    unknown_endpoints: z
      .enum(['permit_join', 'accept', 'reject'])
      .default('permit_join')
      .describe(
        'Registrations from endpoints no device entry names: accepted only while permit_join is on (default), always, or never (4.03)',
      ),
    lifetime_grace_s: z
      .number()
      .min(0)
      .default(15)
      .describe('Seconds past the registration lifetime before the device is reported offline'),
    queue_awake_s: z
      .number()
      .min(0)
      .default(93)
      .describe(
        'Queue mode: seconds after the last message from the client (Register, Update, Send, a notification or an answer to a request) during which it listens (Zephyr default 93)',
      ),
    request_timeout_ms: z
      .number()
      .int()
      .positive()
      .default(30000)
      .describe('Deadline of one request to a client (Read, Write, Execute...)'),
    max_queued_commands: z
      .number()
      .int()
      .positive()
      .default(32)
      .describe('Queue mode: commands kept per sleeping device; older ones fail first'),
    max_registrations: z
      .number()
      .int()
      .positive()
      .default(10000)
      .describe('Registrations kept at most; a Register beyond it gets 5.03 (re-registrations always pass)'),
    objects_dir: z
      .string()
      .optional()
      .describe('Directory of extra object definition files (*.json, same format as the built-in ones)'),
  })
  .describe('LwM2M server');
export type Lwm2mServerConfig = z.infer<typeof lwm2mServerConfigSchema>;

/** `lwm2m:` inside a `transport: coap` device entry: the device is an LwM2M client. */
export const lwm2mDeviceSchema = z.strictObject({
  endpoint: z.string().min(1).describe('LwM2M endpoint client name (`ep=` in the registration)'),
  observe: z
    .array(z.string().regex(/^\/?\d+\/\d+\/\d+$/, 'a resource path like /3303/0/5700'))
    .optional()
    .describe('Resources to observe after registration (default: those the object model marks `observe`)'),
  content_format: z
    .enum(['tlv', 'senml-json', 'senml-cbor', 'lwm2m-json'])
    .optional()
    .describe('Format for reads and writes (default: what the client announced in `</>;ct=`)'),
});
export type Lwm2mDeviceConfig = z.infer<typeof lwm2mDeviceSchema>;
