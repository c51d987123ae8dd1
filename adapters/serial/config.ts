import { z } from 'zod';
import { smpRetriesSchema, smpTimeoutSchema, smpVersionSchema } from '../common/smp/optional-settings.js';

/** `adapters.serial` in the config file. */
export const serialAdapterConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Start the serial adapter'),
    scan_interval_ms: z
      .number()
      .int()
      .min(100)
      .default(2000)
      .describe('How often absent ports are looked for (hot-plug), and unknown USB ports announced during permit_join'),
    reopen_backoff: z
      .strictObject({
        initial_ms: z
          .number()
          .int()
          .min(10)
          .default(500)
          .describe('Delay before reopening a port that closed or failed'),
        max_ms: z.number().int().min(10).default(30_000).describe('The delay doubles per failure up to this'),
      })
      .prefault({})
      .describe('Reopen back-off after an unplug or a failed open'),
    max_line_bytes: z
      .number()
      .int()
      .min(256)
      .max(65_536)
      .default(4096)
      .describe('Longer lines are dropped up to the next line ending (LF, CR or CRLF) and counted as decode errors'),
  })
  .describe('serial adapter');
export type SerialAdapterConfig = z.infer<typeof serialAdapterConfigSchema>;

/** USB ids as 4 lowercase hex digits; accepts "2fe3", "0x2FE3" or 12259. */
const usbId = z
  .union([
    z.string().regex(/^(0x)?[0-9a-fA-F]{1,4}$/, 'a USB id like "2fe3" or "0x2FE3"'),
    z.number().int().min(0).max(0xffff),
  ])
  .transform((v) => (typeof v === 'number' ? v.toString(16) : v.replace(/^0x/, '')).toLowerCase().padStart(4, '0'));

export const serialMatchSchema = z
  .strictObject({
    usb: z
      .strictObject({
        vid: usbId.describe('USB vendor id (Zephyr samples use 2fe3)'),
        pid: usbId.optional().describe('USB product id'),
        serial: z.string().min(1).optional().describe('USB serial number (iSerial)'),
      })
      .optional(),
    by_id: z
      .string()
      .min(1)
      .optional()
      .describe('Name (or full path) of a link in /dev/serial/by-id, e.g. usb-ZEPHYR_Board_0123-if00'),
  })
  .describe('Find the port by USB ids or /dev/serial/by-id name instead of a fixed path');

const serialSmpSettingsSchema = z.strictObject({
  enabled: z
    .boolean()
    .default(true)
    .describe('Decode SMP (mcumgr) frames and allow bridge/request/device/smp and ota_update'),
  version: smpVersionSchema,
  timeout_ms: smpTimeoutSchema(
    3000,
    "Wait per attempt, on top of the time the request and a maximal answer take on the wire at the port's baud_rate",
  ),
  retries: smpRetriesSchema,
  frame_gap_ms: z
    .number()
    .int()
    .min(0)
    .max(1000)
    .default(20)
    .describe(
      "Pause after every line_buffers frames of a request longer than that: Zephyr's serial SMP transports hold line_buffers received frames and drop the ones that arrive before their mcumgr thread took them; 0 writes a request at once",
    ),
  line_buffers: z
    .number()
    .int()
    .min(1)
    .max(16)
    .default(2)
    .describe(
      "Received frames the device's serial SMP transport holds for its mcumgr thread (CONFIG_UART_MCUMGR_RX_BUF_COUNT, CONFIG_MCUMGR_TRANSPORT_SHELL_RX_BUF_COUNT; 2 unless the firmware sets another count): frames written back to back before a frame_gap_ms pause",
    ),
});

/** SMP (mcumgr) over the UART, on by default; `smp: true` is the defaults and `smp: false` turns it off, as for BLE. */
export const serialSmpSchema = z
  .union([z.boolean(), serialSmpSettingsSchema])
  .prefault({})
  .transform((smp) => (typeof smp === 'boolean' ? { ...serialSmpSettingsSchema.parse({}), enabled: smp } : smp))
  .describe(
    'SMP (mcumgr) frames on this UART, for bridge/request/device/smp and ota_update: true (the defaults), false (off), or settings: enabled (true), version (1 or 2; 1), timeout_ms (wait per attempt on top of the time the request and a maximal answer take on the wire at baud_rate, >= 50; 3000), retries (resends after a timeout, 0-10; 2), frame_gap_ms (pause after every line_buffers frames of a longer request, 0-1000; 20), line_buffers (received frames the SMP transport of the firmware holds, CONFIG_UART_MCUMGR_RX_BUF_COUNT, 1-16; 2)',
  );

/** The adapter needs exactly one way to find the port: a fixed `path` or a `match` that names usb or by_id. */
export function checkPortChoice(
  device: { path?: string | undefined; match?: { usb?: unknown; by_id?: unknown } | undefined },
  ctx: z.RefinementCtx,
): void {
  // The entry itself is the issue's path: the config error then points at the key the message names.
  const fail = (message: string, hint: string) => ctx.addIssue({ code: 'custom', path: [], message, params: { hint } });
  if (device.path !== undefined && device.match !== undefined)
    fail('give either path or match, not both', 'keep path for a fixed port or match to find it by USB ids');
  else if (device.path === undefined && device.match === undefined)
    fail('a serial device needs path or match', 'e.g. path: /dev/ttyACM0, or match: { usb: { vid: 2fe3 } }');
  else if (device.match && device.match.usb === undefined && device.match.by_id === undefined)
    fail('match names neither usb nor by_id', 'e.g. match: { usb: { vid: 2fe3 } } or match: { by_id: usb-ZEPHYR_... }');
}

/** Transport-specific keys of a `devices[]` entry with `transport: serial` (`checkPortChoice` runs on the entry). */
export const serialDeviceSchema = z.object({
  transport: z.literal('serial'),
  path: z
    .string()
    .min(1)
    .optional()
    .describe('Port path, e.g. /dev/ttyACM0 (or a symlink to it); give either this or `match`'),
  match: serialMatchSchema.optional(),
  baud_rate: z.number().int().min(50).default(115_200).describe('Bits per second (50 is the lowest POSIX rate)'),
  data_bits: z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]).default(8),
  // mark/space parity and 1.5 stop bits: the Linux serial binding refuses them at open, so they are not offered.
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  stop_bits: z.union([z.literal(1), z.literal(2)]).default(1),
  rtscts: z.boolean().default(false).describe('Hardware flow control'),
  framing: z
    .enum(['ndjson', 'kv', 'raw'])
    .default('ndjson')
    .describe('ndjson: JSON object lines are telemetry; kv: also `key=value` lines; raw: every text line is log'),
  log: z.boolean().default(true).describe('Publish other text lines (shell, logs) to `<base>/<device>/log`'),
  shell_echo: z
    .boolean()
    .default(true)
    .describe(
      'The UART runs a shell that echoes what the gateway writes: a line repeating one written in the last 2 s is that echo, not telemetry. Turn off when a device confirms a /set by sending the same line back',
    ),
  smp: serialSmpSchema,
});
export type SerialDeviceConfig = z.infer<typeof serialDeviceSchema>;
/** A serial device entry as the adapter receives it (common keys included). */
export type SerialDevice = SerialDeviceConfig & { id: string; name?: string | undefined; disabled?: boolean };
