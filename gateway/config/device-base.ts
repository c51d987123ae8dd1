import { z } from 'zod';
import { homeAssistantDeviceSchema } from '../homeassistant/overrides.js';
import { jsonRules } from './json-rules.js';

/** A JavaScript regular expression, matched against property names (unanchored, as in Zigbee2MQTT). */
const propertyPattern = z
  .string()
  .min(1)
  .max(200)
  .superRefine((source, ctx) => {
    try {
      new RegExp(source);
    } catch (err) {
      // V8 says "Invalid regular expression: /(x/: Unterminated group": the reason is the part after the source.
      const reason = String((err as Error).message)
        .split(': ')
        .at(-1);
      ctx.addIssue({
        code: 'custom',
        message: `not a valid regular expression (${reason})`,
        params: { hint: 'e.g. "^rssi$" or "^linkquality|_raw$"; escape ( [ { . * + ? with a backslash' },
      });
    }
  });

/** Keys every device entry has, whatever its transport. Adapters add their own keys beside these. */
export const deviceBaseShape = {
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, "-" and "_", starting with a letter or digit')
    .refine((id) => id !== 'bridge', {
      message: '"bridge" is reserved for the gateway\'s own topics (<base>/bridge/...)',
      params: { hint: 'choose another id, e.g. "bridge-1"' },
    })
    .describe(
      'Stable device id, used in MQTT topics (`<base>/<id>`): 1 to 63 lowercase letters, digits, `-` and `_`, starting with a letter or digit; not `bridge`. Unlike a Zigbee2MQTT friendly_name, no spaces, capitals or `/` (put those in `name`)',
    )
    .meta(jsonRules.deviceId),
  name: z.string().min(1).optional().describe('Human-friendly name shown in bridge/devices and the dashboard'),
  description: z
    .string()
    .max(1000)
    .optional()
    .describe('Free text about the device (where it is, what it measures), shown in bridge/devices'),
  availability_timeout: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('Seconds without traffic before the device is reported offline (overrides the transport default)'),
  disabled: z.boolean().default(false).describe('Keep the entry but do not connect to the device'),
  filtered_attributes: z
    .array(propertyPattern)
    .max(100)
    .optional()
    .describe(
      'Regular expressions (unanchored: use `^name$` for one property); device properties whose name matches one are ' +
        'dropped as they arrive: never in the state, its property topics or Home Assistant',
    ),
  throttle: z
    .number()
    .positive()
    .max(86_400)
    .optional()
    .describe(
      'Seconds: publish the state at most once per this interval. Reports in between are merged at once and the ' +
        'latest state is published when the interval ends, so no last value is lost. Presses (action...) are never held',
    ),
  debounce: z
    .number()
    .positive()
    .max(3600)
    .optional()
    .describe(
      'Seconds: publish the state once the device has been quiet this long (reports merged meanwhile), and at the ' +
        'latest 10 x debounce after the first held report. Presses are never held',
    ),
  debounce_ignore: z
    .array(z.string().min(1))
    .max(100)
    .optional()
    .describe('With debounce: properties whose new value is published at once rather than held'),
  qos: z
    .union([z.literal(0), z.literal(1), z.literal(2)])
    .optional()
    .describe("MQTT QoS of the device's state, property and event messages (default 0)"),
  retain: z
    .boolean()
    .optional()
    .describe(
      "Publish the device's state and property messages retained (default true, unlike Zigbee2MQTT's false: the " +
        'gateway restores each state from its retained message after a restart, and a new subscriber gets the last ' +
        'state at once). false: not retained, and a state retained before is cleared; after a restart the state ' +
        'starts empty. Availability stays retained',
    ),
  homeassistant: homeAssistantDeviceSchema,
};

/** Rules across the core's keys of one entry (no issue path: the message's first key present is the one named). */
export function checkDeviceBase(device: Record<string, unknown>, ctx: z.RefinementCtx): void {
  if (device.throttle !== undefined && device.debounce !== undefined)
    ctx.addIssue({
      code: 'custom',
      message: 'throttle and debounce cannot both be set',
      params: { hint: 'keep one: throttle publishes at a steady pace, debounce once the device is quiet' },
    });
  if (device.debounce_ignore !== undefined && device.debounce === undefined)
    ctx.addIssue({
      code: 'custom',
      message: 'debounce_ignore needs debounce',
      params: { hint: 'add debounce: <seconds> to this device, or remove debounce_ignore' },
    });
}
