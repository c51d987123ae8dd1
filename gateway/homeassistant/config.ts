import { z } from 'zod';

/** `homeassistant:` in the config file. */
export const homeAssistantConfigSchema = z
  .object({
    enabled: z.boolean().default(false).describe('Publish Home Assistant MQTT discovery messages'),
    discovery_prefix: z
      .string()
      .default('homeassistant')
      .describe(
        'Home Assistant discovery prefix; the configs published under an earlier one are not cleared when it changes',
      ),
    status_topic: z
      .string()
      .default('homeassistant/status')
      .describe('Home Assistant birth topic: discovery is re-sent when it says `online`'),
  })
  .describe(
    "Home Assistant MQTT discovery. Entity unique_ids (and the HA device) come from the device's stable identity when its entry has one: for ble the match `address`, `bthome_mac` or `serial_number`; for serial `match.usb.serial` or `match.by_id`; for coap `lwm2m.endpoint`, `address` or a hash of `token`. Otherwise they come from the device id. A rename that keeps that identity keeps the unique_ids (the discovery topics still follow the id). Changed: unique_ids used to be `<gateway id>_<device id>_<property>` for every device; after upgrading, Home Assistant can show the entities of devices with a stable identity as new ones (entity ids with a `_2` suffix) beside the old, now unavailable ones: delete the old entities, then give the new ones the old entity ids",
  );
export type HomeAssistantConfig = z.infer<typeof homeAssistantConfigSchema>;
