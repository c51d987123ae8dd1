// `blocklist:` entries: devices (not in `devices`) the gateway neither announces nor accepts, as Zigbee2MQTT's
// `blocklist` of IEEE addresses. An entry names a device by what its adapter sees of it before it is configured,
// the same words a device_seen_unknown event uses; every key an entry gives must match.
import { z } from 'zod';

const identity = z.string().min(1).max(256);

export function blockEntrySchema(transports: readonly [string, ...string[]]) {
  return z
    .strictObject({
      transport: z.enum(transports).describe('The adapter that sees the device'),
      address: identity
        .optional()
        .describe(
          'BLE MAC (any case or separator); CoAP source IP (any textual form, a zone when given must match); serial port path or a /dev/serial/by-id link',
        ),
      name: identity
        .optional()
        .describe('BLE advertised name; CoAP /ps/<id> id or LwM2M endpoint name; serial USB product'),
      serial_number: identity.optional().describe('Serial: the USB serial number (iSerial)'),
    })
    .refine((e) => e.address !== undefined || e.name !== undefined || e.serial_number !== undefined, {
      message: 'a blocklist entry needs address, name or serial_number',
      params: { hint: 'e.g. {transport: ble, address: "AA:BB:CC:DD:EE:FF"}, as in a device_seen_unknown event' },
    });
}

export type BlockEntry = z.infer<ReturnType<typeof blockEntrySchema>>;
