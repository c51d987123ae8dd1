import { z } from 'zod';
import {
  optionalSmpSettings,
  smpNamed,
  smpRetriesSchema,
  smpTimeoutSchema,
  smpVersionSchema,
} from '../common/smp/optional-settings.js';
import { lwm2mDeviceSchema, lwm2mServerConfigSchema } from './lwm2m/config.js';
import { isIpLiteral, isLinkLocalWithoutZone, numericZone } from './transport/peer.js';

/** A zone, when an address has one, must be an interface name. */
const namedZone = [
  (address: string) => !numericZone(address),
  {
    message: 'the zone is an interface index: Node takes interface names only, and reads an index as no zone',
    params: { hint: 'write the interface name, e.g. "fe80::1%lowpan0" (`ip -6 addr` lists them)' },
  },
] as const;

const bindAddressSchema = z
  .string()
  .refine(isIpLiteral, 'an IP address')
  .refine(...namedZone)
  .refine((address) => !isLinkLocalWithoutZone(address), {
    message: 'link-local address without a zone: a bind address needs the interface it is on',
    params: { hint: 'add it after a %, e.g. "fe80::1%lowpan0" (`ip -6 addr` lists the interfaces)' },
  });

/** RFC 7959 §2.2: 2^(SZX+4) bytes, SZX 0..6. */
const blockSizeSchema = z.union([16, 32, 64, 128, 256, 512, 1024].map((n) => z.literal(n)));

/** `adapters.coap` in the config file. */
export const coapAdapterConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Start the coap adapter'),
    bind: z
      .union([bindAddressSchema, z.array(bindAddressSchema).min(1)])
      .default('::')
      .describe(
        'Address or list of addresses the CoAP server binds to, on one port; "::" serves IPv6 and IPv4 (dual stack). Answers leave by the address they were asked on (a wildcard also binds each host address, docs/adapters/coap.md)',
      ),
    port: z.number().int().min(0).max(65535).default(5683).describe('UDP port (0 = ephemeral, for tests)'),
    interfaces: z
      .array(z.string().min(1))
      .default([])
      .describe('Network interfaces for multicast discovery (e.g. ["lowpan0", "wpan0"]); empty = no discovery'),
    multicast_groups: z
      .array(z.string().min(1))
      .default(['ff02::fd', 'ff05::fd'])
      .describe('All-CoAP-Nodes groups queried with GET /.well-known/core while permit_join is on'),
    discovery_interval: z
      .number()
      .positive()
      .default(30)
      .describe('Seconds between multicast discovery rounds while permit_join is on'),
    discovery_window: z
      .number()
      .positive()
      .max(60)
      .default(6)
      .describe(
        'Seconds a multicast discovery round collects answers: devices wait up to Leisure (RFC 7252 §8.2.1, 5 s by default) before answering a group request',
      ),
    allow_path_identity: z
      .boolean()
      .default(true)
      .describe(
        'Accept /ps/<id> from devices that have neither `address` nor `token` configured (trusted networks only)',
      ),
    max_payload: z
      .number()
      .int()
      .min(64)
      .max(1_048_576)
      .default(65_536)
      .describe(
        'Largest payload in bytes a device may send: a request, whole or Block1-reassembled (4.13 beyond), and an answer or notification the gateway reassembles from Block2 (a larger one fails the /get or /set, or ends the observation)',
      ),
    block_size: blockSizeSchema.default(1024).describe('Preferred Block1/Block2 size in bytes'),
    ack_timeout: z.number().positive().default(2).describe('RFC 7252 ACK_TIMEOUT in seconds'),
    max_retransmit: z.number().int().min(0).max(10).default(4).describe('RFC 7252 MAX_RETRANSMIT'),
    request_timeout: z
      .number()
      .positive()
      .default(30)
      .describe('Seconds a gateway-initiated request may take, retransmissions and block-wise included'),
    observe_freshness: z
      .number()
      .positive()
      .default(300)
      .describe('Seconds without a notification before an observation of a device resource is re-registered'),
    max_observers: z
      .number()
      .int()
      .positive()
      .default(1000)
      .describe('Command observations (GET /ps/<id>/set with Observe) kept at most'),
    lwm2m: lwm2mServerConfigSchema.prefault({}),
  })
  .describe('coap adapter');
export type CoapAdapterConfig = z.infer<typeof coapAdapterConfigSchema>;

export const contentFormatNames = ['text', 'json', 'cbor', 'senml+json', 'senml+cbor', 'octet-stream'] as const;

const resourceSchema = z.strictObject({
  path: z.string().regex(/^\/.*/, 'starts with "/"').describe('Resource path on the device, e.g. "/sensors/temp"'),
  observe: z.boolean().default(false).describe('Observe the resource (RFC 7641) and publish every notification'),
  poll: z.number().positive().optional().describe('Seconds between GETs, for resources that cannot be observed'),
  method: z.enum(['PUT', 'POST']).default('PUT').describe('Method used when this property is set over MQTT /set'),
  format: z.enum(contentFormatNames).default('text').describe('Content format written on /set'),
});
export type CoapResourceConfig = z.infer<typeof resourceSchema>;

/** SMP (mcumgr) over UDP to the device (Zephyr's CONFIG_MCUMGR_TRANSPORT_UDP); `smp: true` is this object with its
 * defaults. */
export const coapSmpSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Allow device/smp and ota_update over UDP'),
  port: z
    .number()
    .int()
    .min(1)
    .max(65535)
    .default(1337)
    .describe("UDP port of the device's SMP server (CONFIG_MCUMGR_TRANSPORT_UDP_PORT)"),
  version: smpVersionSchema,
  timeout_ms: smpTimeoutSchema(
    5000,
    'Wait per attempt (a fragmented datagram over a 6LoWPAN or Thread mesh takes hundreds of milliseconds)',
  ),
  retries: smpRetriesSchema.describe(
    'Resends after a timeout (same sequence number): a lost datagram costs one timeout',
  ),
  max_packet: z
    .number()
    .int()
    .min(256)
    .max(65_507)
    .default(1232)
    .describe(
      'Largest SMP packet per datagram, in bytes; upload chunks are sized to fit it and the device buffer. 1232 fits the IPv6 minimum MTU (1280) without IP fragmentation, which many 6LoWPAN stacks lack; raise it only where the path takes larger datagrams',
    ),
});
export type CoapSmpSettings = z.infer<typeof coapSmpSchema>;

/** The device's SMP settings, or undefined when SMP is off (the default). */
export function coapSmpSettings(device: {
  smp?: boolean | z.input<typeof coapSmpSchema> | undefined;
}): CoapSmpSettings | undefined {
  return optionalSmpSettings(coapSmpSchema, device.smp);
}

/** SMP needs the device's address: the gateway sends the requests. Runs on the whole device entry. */
export function checkSmpAddress(device: { smp?: unknown; address?: unknown }, ctx: z.RefinementCtx): void {
  if (!smpNamed(device.smp) || device.address !== undefined) return;
  ctx.addIssue({
    code: 'custom',
    path: ['smp'],
    message: 'SMP over UDP needs the device address',
    params: { hint: 'add `address: <the device IP>` (e.g. "fe80::1%lowpan0"), or remove `smp`' },
  });
}

/**
 * A device the gateway sends requests to (discovery, resources, SMP) at a link-local address needs its zone: without
 * one the requests leave by whichever interface the kernel's routes prefer. A device that only publishes may leave
 * it out: its address then matches on any interface.
 */
export function checkLinkLocalZone(
  device: { address?: unknown; discover?: unknown; resources?: unknown; observe?: unknown; smp?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (typeof device.address !== 'string' || !isLinkLocalWithoutZone(device.address)) return;
  const sends =
    device.discover === true ||
    (typeof device.resources === 'object' && device.resources !== null && Object.keys(device.resources).length > 0) ||
    (Array.isArray(device.observe) && device.observe.length > 0) ||
    smpNamed(device.smp);
  if (!sends) return;
  ctx.addIssue({
    code: 'custom',
    path: ['address'],
    input: device.address,
    message: 'link-local address without a zone: the gateway sends to this device, and needs the interface to use',
    params: { hint: `add it after a %, e.g. "${device.address}%lowpan0" (\`ip -6 addr\` lists the interfaces)` },
  });
}

/** The checks that need the whole `transport: coap` device entry. */
export function checkCoapDevice(device: Parameters<typeof checkLinkLocalZone>[0], ctx: z.RefinementCtx): void {
  checkSmpAddress(device, ctx);
  checkLinkLocalZone(device, ctx);
}

/** Transport-specific keys of a `devices[]` entry with `transport: coap`. */
export const coapDeviceSchema = z.object({
  transport: z.literal('coap'),
  address: z
    .string()
    .refine(
      isIpLiteral,
      'an IP address such as "fd00::212:4b00:615:a4ad", "fe80::1%lowpan0" or "192.168.1.20" (no brackets; the port goes in `port`)',
    )
    .refine(...namedZone)
    .optional()
    .describe('Device IP address (link-local with zone: "fe80::1%lowpan0"); binds its identity to that address'),
  port: z.number().int().min(1).max(65535).default(5683).describe("UDP port of the device's own CoAP server"),
  token: z
    .string()
    .min(8)
    .optional()
    .describe('Shared secret the device sends as `?token=<value>` on /ps requests (identity by token)'),
  ps_id: z
    .string()
    .min(1)
    .regex(/^[^/?#]+$/, 'one path segment')
    .optional()
    .describe(
      'The id the device sends in /ps/<id> when it differs from `id`; `device/rename` writes the old id here so the device keeps reporting',
    ),
  block_size: blockSizeSchema
    .optional()
    .describe(
      "Block1 size in bytes for requests to this device's CoAP server (default: the adapter's `block_size`). Zephyr's coap_server reads whole messages into CONFIG_COAP_SERVER_MESSAGE_SIZE bytes (default 256): use 128 for it",
    ),
  discover: z
    .boolean()
    .default(false)
    .describe('GET /.well-known/core from the device at start (needs `address`); shown in bridge/devices'),
  resources: z
    .record(z.string().min(1), resourceSchema)
    .default({})
    .describe('Device CoAP-server resources by property name: observed, polled, written on /set, read on /get'),
  observe: z
    .array(z.string().regex(/^\/.+/, 'a resource path such as "/obs"'))
    .default([])
    .describe('Shorthand: resource paths to observe, published as the property named after the last segment'),
  lwm2m: lwm2mDeviceSchema.optional(),
  smp: z
    .union([z.boolean(), coapSmpSchema])
    .optional()
    .describe(
      "SMP (mcumgr) over UDP to the device's SMP server, for bridge/request/device/smp and ota_update: true, or settings; needs `address`. Off by default",
    ),
});

/** The device's resources with the `observe` shorthand folded in (`/sensors/temp` -> property `temp`). */
export function resourcesOf(
  device: Pick<CoapDeviceConfig, 'resources' | 'observe'>,
): Record<string, CoapResourceConfig> {
  const out = { ...device.resources };
  for (const path of device.observe) {
    const name = path.split('/').filter(Boolean).at(-1) ?? path;
    if (!(name in out)) out[name] = { path, observe: true, method: 'PUT', format: 'text' };
  }
  return out;
}
export type CoapDeviceConfig = z.infer<typeof coapDeviceSchema>;
