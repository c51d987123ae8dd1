import { z } from 'zod';

/** `homeassistant:` in the config file. */
export const homeAssistantConfigSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Publish Home Assistant MQTT discovery messages'),
    discovery_prefix: z.string().default('homeassistant').describe('Home Assistant discovery prefix'),
    status_topic: z
      .string()
      .default('homeassistant/status')
      .describe('Home Assistant birth topic: discovery is re-sent when it says `online`'),
  })
  .describe('Home Assistant MQTT discovery');
export type HomeAssistantConfig = z.infer<typeof homeAssistantConfigSchema>;
