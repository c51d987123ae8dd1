import { z } from 'zod';

/** `adapters.serial` in the config file. */
export const serialAdapterConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Start the serial adapter'),
  })
  .describe('serial adapter');
export type SerialAdapterConfig = z.infer<typeof serialAdapterConfigSchema>;

/** Transport-specific keys of a `devices[]` entry with `transport: serial`. */
export const serialDeviceSchema = z.object({
  transport: z.literal('serial'),
});
export type SerialDeviceConfig = z.infer<typeof serialDeviceSchema>;
