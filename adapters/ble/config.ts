import { z } from 'zod';
import {
  optionalSmpSettings,
  smpRetriesSchema,
  smpTimeoutSchema,
  smpVersionSchema,
} from '../common/smp/optional-settings.js';

// Kept as plain regexes (no transforms) so the config JSON Schema can be generated; normalised in code.
const uuid = z
  .string()
  .regex(
    /^([0-9a-fA-F]{4}|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})$/,
    '16-bit (4 hex digits) or 128-bit UUID',
  )
  .describe('UUID as 4 or 32 hex digits (dashes allowed)');

/** A MAC address in any case, with colons, dashes or no separator. */
export const MAC_PATTERN = /^[0-9a-fA-F]{2}([:-]?[0-9a-fA-F]{2}){5}$/;

const mac = z.string().regex(MAC_PATTERN, 'a MAC address like AA:BB:CC:DD:EE:FF').describe('MAC address');

/** noble's spelling: lowercase hex without dashes. */
export function normalizeUuid(u: string): string {
  return u.toLowerCase().replace(/-/g, '');
}

/** Lowercase hex without separators, e.g. "aabbccddeeff". */
export function normalizeMac(m: string): string {
  return m.toLowerCase().replace(/[^0-9a-f]/g, '');
}

export const codecSchema = z
  .enum([
    'int8',
    'uint8',
    'int16le',
    'int16be',
    'uint16le',
    'uint16be',
    'int32le',
    'int32be',
    'uint32le',
    'uint32be',
    'float32le',
    'float32be',
    'float64le',
    'utf8',
    'json',
    'raw',
  ])
  .describe('How the characteristic value is encoded');
export type Codec = z.infer<typeof codecSchema>;

const mappingSchema = z.strictObject({
  service: uuid.optional().describe('Service UUID (any service when omitted)'),
  characteristic: uuid.describe('Characteristic UUID'),
  property: z.string().min(1).describe('State property the value is published as'),
  codec: codecSchema.default('uint8'),
  scale: z.number().default(1).describe('Published value = raw × scale (numeric codecs)'),
  notify: z.boolean().default(true).describe('Subscribe when the characteristic notifies or indicates'),
  read: z.boolean().default(true).describe('Read once after connecting'),
  writable: z.boolean().default(false).describe('Accept this property in `/set` and write it'),
});
export type CharacteristicMapping = z.infer<typeof mappingSchema>;

const manufacturerFieldSchema = z.strictObject({
  offset: z.number().int().min(0).describe('Byte offset after the 2-byte company id'),
  property: z.string().min(1),
  codec: codecSchema.exclude(['json', 'utf8', 'raw']),
  scale: z.number().default(1),
});

/** `adapters.ble` in the config file. */
export const bleAdapterConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Start the ble adapter'),
    binding: z
      .string()
      .min(1)
      .default('hci')
      .describe('`hci` (the host Bluetooth controller) or a path to a module exporting a noble binding object'),
    max_connections: z.number().int().min(0).default(4).describe('Concurrent GATT connections'),
    gatt_timeout_ms: z.number().int().positive().default(5000).describe('Timeout of each GATT operation'),
    connect_timeout_ms: z.number().int().positive().default(10_000),
    reconnect_min_ms: z.number().int().positive().default(1000).describe('First reconnect delay; doubles'),
    reconnect_max_ms: z
      .number()
      .int()
      .positive()
      .default(60_000)
      .describe(
        'Longest reconnect delay; a link that lasted this long starts the delay again at reconnect_min_ms (a shorter one doubles it)',
      ),
    unavailable_retry_min_ms: z.number().int().positive().default(2000).describe('Retry while no Bluetooth'),
    unavailable_retry_max_ms: z.number().int().positive().default(60_000),
    max_advertisers: z
      .number()
      .int()
      .positive()
      .default(2000)
      .describe(
        'Unknown advertisers remembered (announcements, serial numbers read for serial_number matches); the least recently seen are evicted',
      ),
    seen_interval_s: z
      .number()
      .positive()
      .default(60)
      .describe('Report the same unknown advertiser at most once per interval'),
  })
  .superRefine((c, ctx) => {
    for (const [min, max] of [
      ['reconnect_min_ms', 'reconnect_max_ms'],
      ['unavailable_retry_min_ms', 'unavailable_retry_max_ms'],
    ] as const) {
      if (c[min] <= c[max]) continue;
      // The key last named in the message is the one the error points at (config/issues.ts).
      ctx.addIssue({
        code: 'custom',
        message: `${max} (${c[max]}) is below ${min} (${c[min]})`,
        params: { hint: `make ${min} at most ${max}` },
      });
    }
  })
  .describe('ble adapter');
export type BleAdapterConfig = z.infer<typeof bleAdapterConfigSchema>;

/** Zephyr sample profiles a device can be declared as. */
export const bleProfiles = ['ess', 'hrs', 'hts', 'bas', 'dis', 'nus', 'bthome'] as const;

/** SMP (mcumgr) over the SMP GATT service; `smp: true` is this object with its defaults. */
export const bleSmpSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Subscribe to the SMP characteristic and allow device/smp, ota_update'),
  version: smpVersionSchema,
  timeout_ms: smpTimeoutSchema(
    5000,
    'Wait per attempt (a 20-byte MTU and a flash erase make BLE answers slower than serial ones)',
  ),
  retries: smpRetriesSchema,
});
export type BleSmpSettings = z.infer<typeof bleSmpSchema>;

/** The device's SMP settings, or undefined when SMP is off (the default). */
export function smpSettings(device: {
  smp?: boolean | z.input<typeof bleSmpSchema> | undefined;
}): BleSmpSettings | undefined {
  return optionalSmpSettings(bleSmpSchema, device.smp);
}

/** Whether a device keeps a GATT connection: as configured, else implied by its profile or by SMP. */
export function wantsConnection(device: {
  connect?: boolean | undefined;
  profile?: string | undefined;
  smp?: boolean | z.input<typeof bleSmpSchema> | undefined;
}): boolean {
  return (
    device.connect ??
    ((device.profile !== undefined && device.profile !== 'bthome') || smpSettings(device) !== undefined)
  );
}

/** Transport-specific keys of a `devices[]` entry with `transport: ble`. */
export const bleDeviceSchema = z.object({
  transport: z.literal('ble'),
  match: z
    .strictObject({
      address: mac.optional().describe('Advertiser address (random static addresses can change on reflash)'),
      name: z.string().min(1).optional().describe('Advertised local name, exact'),
      bthome_mac: mac
        .optional()
        .describe(
          'The MAC the BTHome bind key was issued for, used to decrypt (advert address when omitted); it matches only when neither address nor name is given',
        ),
      serial_number: z.string().min(1).optional().describe('Device Information serial number (needs a connection)'),
    })
    .refine(
      (m) => Object.values(m).some((v) => v !== undefined),
      'give at least one of address, name, bthome_mac, serial_number',
    )
    .describe('How the device is recognised; all given keys must match (bthome_mac is not a matcher beside them)'),
  profile: z
    .enum(bleProfiles)
    .optional()
    .describe(
      'What the device is: a GATT profile (ess, hrs, hts, bas, dis, nus) implies `connect: true`; bthome is adverts only',
    ),
  connect: z
    .boolean()
    .optional()
    .describe('Keep a GATT connection (otherwise adverts only); default: true for a GATT profile, else false'),
  bind_key: z
    .string()
    .regex(/^[0-9a-fA-F]{32}$/, '32 hex digits')
    .optional()
    .describe('BTHome encryption key'),
  characteristics: z.array(mappingSchema).default([]).describe('Generic characteristic mapping'),
  manufacturer_data: z
    .strictObject({
      company_id: z.number().int().min(0).max(0xffff).optional(),
      fields: z.array(manufacturerFieldSchema).default([]),
    })
    .optional()
    .describe('Decode manufacturer data; without fields it is published raw as hex'),
  nus: z.boolean().default(true).describe('Use the Nordic UART Service for NDJSON when present'),
  smp: z
    .union([z.boolean(), bleSmpSchema])
    .optional()
    .describe(
      'SMP (mcumgr) over GATT for bridge/request/device/smp and ota_update: true, or settings; implies `connect: true`. Off by default: only these devices get the SMP characteristic subscribed',
    ),
});
export type BleDeviceConfig = z.infer<typeof bleDeviceSchema>;
