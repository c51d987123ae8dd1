import { z } from 'zod';

/** `adapters.coap` in the config file. */
export const coapAdapterConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Start the coap adapter'),
  })
  .describe('coap adapter');
export type CoapAdapterConfig = z.infer<typeof coapAdapterConfigSchema>;

/** Transport-specific keys of a `devices[]` entry with `transport: coap`. */
export const coapDeviceSchema = z.object({
  transport: z.literal('coap'),
});
export type CoapDeviceConfig = z.infer<typeof coapDeviceSchema>;
