import { z } from 'zod';
import { jsonRules } from './json-rules.js';

/** Keys every device entry has, whatever its transport. Adapters add their own keys beside these. */
export const deviceBaseShape = {
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, "-" and "_", starting with a letter or digit')
    .refine((id) => id !== 'bridge', {
      message: '"bridge" is reserved for the gateway\'s own topics (<base>/bridge/...)',
      params: { hint: 'choose another id, e.g. "bridge-1"' },
    })
    .describe('Stable device id, used in MQTT topics (`<base>/<id>`)')
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
};
