import { z } from 'zod';

/** `bridge:` in the config file: the upstream (cloud) MQTT bridge. Filled in by the upstream bridge. */
export const upstreamConfigSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Bridge local topics to an upstream MQTT broker'),
  })
  .describe('Upstream MQTT bridge with durable store-and-forward');
export type UpstreamConfig = z.infer<typeof upstreamConfigSchema>;
