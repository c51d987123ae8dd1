import { z } from 'zod';

/** `adapters.ble` in the config file. */
export const bleAdapterConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Start the ble adapter'),
  })
  .describe('ble adapter');
export type BleAdapterConfig = z.infer<typeof bleAdapterConfigSchema>;

/** Transport-specific keys of a `devices[]` entry with `transport: ble`. */
export const bleDeviceSchema = z.object({
  transport: z.literal('ble'),
});
export type BleDeviceConfig = z.infer<typeof bleDeviceSchema>;
