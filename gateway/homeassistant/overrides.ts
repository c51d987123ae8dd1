// A device's `homeassistant` option, as Zigbee2MQTT has it: `false` announces none of its entities; in an object,
// plain values (and arrays) go into every entity's discovery config, `device: {...}` into the HA device block,
// `<property>: {...}` into that property's entity only and `<property>: null` leaves it unannounced.
import { z } from 'zod';

const overrideValue = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.array(z.unknown()),
  z.record(z.string(), z.unknown()),
]);

export const homeAssistantDeviceSchema = z
  .union([z.literal(false), z.record(z.string(), overrideValue)])
  .optional()
  .describe(
    'Home Assistant discovery of this device: false announces nothing; in a map, plain values go into every ' +
      'entity (e.g. `entity_category: diagnostic`), `device: {...}` into the HA device, `<property>: {...}` into ' +
      'that entity only (e.g. `temperature: {name: Outside, icon: "mdi:sun-thermometer"}`), `<property>: null` ' +
      'leaves it out',
  );

export type HomeAssistantOverrides = z.infer<typeof homeAssistantDeviceSchema>;

/** Keys an override for every entity must not set: each entity needs its own. */
const PER_ENTITY_KEYS: ReadonlySet<string> = new Set(['unique_id', 'default_entity_id', 'name', 'object_id']);

export function overridesOf(config: Record<string, unknown> | undefined): HomeAssistantOverrides {
  const value = config?.homeassistant;
  if (value === false) return false;
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown> as HomeAssistantOverrides)
    : undefined;
}

/** Whether the property's entity is announced at all. */
export function entityWanted(overrides: HomeAssistantOverrides, property: string): boolean {
  if (overrides === false) return false;
  if (!overrides || !Object.hasOwn(overrides, property)) return true;
  return overrides[property] !== null;
}

/** The discovery `config` of `property`'s entity with the device's overrides applied (in place). */
export function applyOverrides(
  config: Record<string, unknown>,
  overrides: HomeAssistantOverrides,
  property: string,
): void {
  if (!overrides) return;
  for (const [key, value] of Object.entries(overrides)) {
    if (PER_ENTITY_KEYS.has(key)) continue;
    if (key === 'device' && isMap(value)) config.device = { ...(config.device as object), ...value };
    else if (!isMap(value) && value !== null) config[key] = value;
  }
  const own = overrides[property];
  if (!isMap(own)) return;
  for (const [key, value] of Object.entries(own)) {
    if (key === 'unique_id') continue; // Home Assistant keys its entity registry on it: the gateway's stays
    if (value === null) delete config[key];
    else config[key] = value;
  }
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
