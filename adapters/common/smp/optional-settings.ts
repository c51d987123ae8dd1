// The settings of an `smp` device key that every transport shares (version, retries, the bounds of a timeout), and
// reading one that is off by default (BLE, CoAP): absent or false is off, true is the settings' defaults, an object
// is settings (with `enabled: false` off again).
import { z } from 'zod';

export const smpVersionSchema = z
  .union([z.literal(1), z.literal(2)])
  .default(1)
  .describe('SMP protocol version of requests');

export const smpRetriesSchema = z
  .number()
  .int()
  .min(0)
  .max(10)
  .default(2)
  .describe('Resends after a timeout (same sequence number)');

/** Wait per attempt in ms, at least 50: each transport says what its default allows for. */
export const smpTimeoutSchema = (defaultMs: number, description: string) =>
  z.number().int().min(50).default(defaultMs).describe(description);

/** The `smp` key is there and not `false` (settings, maybe with `enabled: false`, count as named). */
export function smpNamed(smp: unknown): boolean {
  return smp !== undefined && smp !== false;
}

export function optionalSmpSettings<Settings extends { enabled: boolean }>(
  schema: z.ZodType<Settings, unknown>,
  smp: unknown,
): Settings | undefined {
  if (!smpNamed(smp)) return undefined;
  const settings = schema.parse(smp === true ? {} : smp);
  return settings.enabled ? settings : undefined;
}
