// At start, before anything is announced: which of this gateway's retained discovery configs the devices no longer
// want, after config changes made while the gateway was stopped (or discovery was off): a device removed,
// `homeassistant: false`, `<property>: null`, filtered_attributes. Zigbee2MQTT clears these the same way.
import type { BrokerMessage } from '../broker/types.js';
import {
  type DiscoveryDevice,
  type DiscoveryOptions,
  discoveryMessages,
  discoveryObjectId,
  topicSafe,
} from './discovery.js';
import type { EventMemory } from './event-memory.js';
import { entityWanted, overridesOf } from './overrides.js';
import { meaningOf } from './properties.js';
import { eventProperty, type RetainedConfig, retainedConfigs } from './retained-configs.js';

/**
 * The topics of the retained configs to clear. Event entities are not in the restored state (a press leaves it once
 * published): the configs of those still wanted are noted in `events` instead, so that they are announced again.
 */
export function staleConfigs(
  retained: Iterable<BrokerMessage>,
  opts: DiscoveryOptions,
  devices: readonly DiscoveryDevice[],
  events: EventMemory,
): string[] {
  const byObjectId = new Map(devices.map((d) => [discoveryObjectId(opts, d.id), d]));
  const wanted = new Set<string>();
  for (const device of devices)
    for (const { topic } of discoveryMessages(opts, device, events.of(device.id))) wanted.add(topic);
  const stale: string[] = [];
  for (const config of retainedConfigs(retained, opts)) {
    if (wanted.has(config.topic)) continue;
    const device = byObjectId.get(config.objectId);
    if (device && (rememberedEvent(opts, config, device, events) || keptUnknown(config, device))) continue;
    stale.push(config.topic);
  }
  return stale;
}

/** Whether the config is of an event entity the device still has (its options may have turned it off since). */
function rememberedEvent(
  opts: DiscoveryOptions,
  config: RetainedConfig,
  device: DiscoveryDevice,
  events: EventMemory,
): boolean {
  if (config.component !== 'event') return false;
  const property = eventProperty(config, device.id);
  const again = discoveryMessages(opts, { ...device, state: {} }, [property]);
  if (!again.some((m) => m.topic === config.topic)) return false;
  events.note(device.id, [property]);
  return events.of(device.id).has(property);
}

/**
 * A device whose state is not retained (`retain: false`) or was not restored has entities nobody knows of until it
 * reports: clearing them would make Home Assistant drop and re-create them at every start. Only what its options
 * turned off goes.
 */
function keptUnknown(config: RetainedConfig, device: DiscoveryDevice): boolean {
  if (device.config?.retain !== false && Object.keys(device.state).length > 0) return false;
  const overrides = overridesOf(device.config);
  if (overrides === false) return false;
  for (const property of Object.keys(overrides ?? {}))
    if (
      topicSafe(property) === config.node &&
      meaningOf(property)?.component === config.component &&
      !entityWanted(overrides, property)
    )
      return false;
  return true;
}
