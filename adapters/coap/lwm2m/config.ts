import { z } from 'zod';

/** `adapters.coap.lwm2m`: the LwM2M server running on the CoAP adapter's socket. */
export const lwm2mServerConfigSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Serve the LwM2M registration interface (/rd) on the CoAP port'),
  })
  .describe('LwM2M server');
export type Lwm2mServerConfig = z.infer<typeof lwm2mServerConfigSchema>;

/** `lwm2m:` inside a `transport: coap` device entry: the device is an LwM2M client. */
export const lwm2mDeviceSchema = z.object({
  endpoint: z.string().min(1).describe('LwM2M endpoint client name (`ep=` in the registration)'),
});
export type Lwm2mDeviceConfig = z.infer<typeof lwm2mDeviceSchema>;
