// An `smp` device key that is off by default (BLE, CoAP): absent or false is off, true is the settings' defaults,
// an object is settings (with `enabled: false` off again).
import type { z } from 'zod';

export function optionalSmpSettings<Settings extends { enabled: boolean }>(
  schema: z.ZodType<Settings, unknown>,
  smp: unknown,
): Settings | undefined {
  if (smp === undefined || smp === false) return undefined;
  const settings = schema.parse(smp === true ? {} : smp);
  return settings.enabled ? settings : undefined;
}
