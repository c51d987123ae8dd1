// Keeps Home Assistant's view in step with the gateway's devices.
import type { BrokerMessage } from '../broker/types.js';
import type { HomeAssistantConfig } from './config.js';
import {
  bridgeMessage,
  type DiscoveryDevice,
  type DiscoveryOptions,
  discoveryMessages,
  removalMessages,
} from './discovery.js';
import { EventMemory } from './event-memory.js';
import { staleConfigs } from './stale-configs.js';

export interface HomeAssistantDeps {
  config: HomeAssistantConfig;
  gatewayId: string;
  baseTopic: string;
  publish(topic: string, payload: string, opts: { retain: boolean; qos: 0 | 1 }): Promise<void>;
  subscribe(filter: string, handler: (msg: BrokerMessage) => void): () => void;
  /** The broker's retained messages, walked once at start for the configs earlier runs left. */
  retained(): Iterable<BrokerMessage>;
  devices(): DiscoveryDevice[];
}

export class HomeAssistantDiscovery {
  /** Discovery topics published per device, so a removal clears exactly those. */
  readonly #published = new Map<string, Set<string>>();
  /** Event properties per device: they leave the state once published, their entities must stay announced. */
  readonly #events = new EventMemory();
  #unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: HomeAssistantDeps) {}

  get #opts(): DiscoveryOptions {
    return {
      gatewayId: this.deps.gatewayId,
      baseTopic: this.deps.baseTopic,
      discoveryPrefix: this.deps.config.discovery_prefix,
    };
  }

  async start(): Promise<void> {
    this.#unsubscribe = this.deps.subscribe(this.deps.config.status_topic, (msg) => {
      if (msg.payload.toString('utf8').trim() === 'online') void this.publishAll(true);
    });
    await this.#clearStale();
    await this.publishAll(true);
  }

  /** Configs of earlier runs that the config, changed meanwhile, no longer wants: `#published` only knows this run's. */
  async #clearStale(): Promise<void> {
    // Listed first, cleared after: each clear changes the retained store being walked.
    const stale = staleConfigs(this.deps.retained(), this.#opts, this.deps.devices(), this.#events);
    for (const topic of stale) {
      // A report while this loop waits may have announced it again since: that one stays.
      if ([...this.#published.values()].some((topics) => topics.has(topic))) continue;
      await this.deps.publish(topic, '', { retain: true, qos: 1 });
    }
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  async publishAll(force: boolean): Promise<void> {
    const bridge = bridgeMessage(this.#opts);
    await this.deps.publish(bridge.topic, JSON.stringify(bridge.payload), { retain: true, qos: 1 });
    for (const device of this.deps.devices()) await this.deviceUpdated(device, force);
  }

  /**
   * Publish configs for properties not announced yet (or all of them with `force`). Pass the state with the
   * event properties of the report in it, before the events themselves are published: HA drops an event that
   * arrives before its entity exists. Event properties are remembered, so later calls need not hold them.
   */
  async deviceUpdated(device: DiscoveryDevice, force = false): Promise<void> {
    let seen = this.#published.get(device.id);
    if (!seen) {
      seen = new Set();
      this.#published.set(device.id, seen);
    }
    this.#events.note(device.id, Object.keys(device.state));
    const messages = discoveryMessages(this.#opts, device, this.#events.of(device.id));
    if (force) {
      // Every entity the device has now: one announced before and not now (its `homeassistant` option turned it
      // off) is cleared.
      const wanted = new Set(messages.map((m) => m.topic));
      for (const topic of [...seen]) {
        if (wanted.has(topic)) continue;
        seen.delete(topic);
        await this.deps.publish(topic, '', { retain: true, qos: 1 });
      }
    }
    for (const msg of messages) {
      if (!force && seen.has(msg.topic)) continue;
      seen.add(msg.topic);
      await this.deps.publish(msg.topic, JSON.stringify(msg.payload), { retain: true, qos: 1 });
    }
  }

  /**
   * Properties dropped from a device's state to keep it within api.max_state_*: their entities go too, or a device
   * inventing property names would grow the retained discovery configs (and this map) without bound.
   */
  async propertiesRemoved(deviceId: string, properties: Iterable<string>): Promise<void> {
    const seen = this.#published.get(deviceId);
    if (!seen) return;
    for (const { topic } of removalMessages(this.#opts, deviceId, properties)) {
      if (!seen.delete(topic)) continue;
      await this.deps.publish(topic, '', { retain: true, qos: 1 });
    }
  }

  async deviceRemoved(deviceId: string, properties: Iterable<string>): Promise<void> {
    const topics = new Set(
      [...removalMessages(this.#opts, deviceId, [...properties, ...this.#events.of(deviceId)])].map((m) => m.topic),
    );
    for (const t of this.#published.get(deviceId) ?? []) topics.add(t);
    this.#published.delete(deviceId);
    this.#events.forget(deviceId);
    for (const topic of topics) await this.deps.publish(topic, '', { retain: true, qos: 1 });
  }

  /**
   * A device renamed `from` -> `to` (the device list already holds `to`, with the state carried over): its old
   * configs are cleared and the new ones published, its event entities included. Call it instead of
   * deviceRemoved(from) for a rename.
   */
  async deviceRenamed(from: string, to: string): Promise<void> {
    const events = [...this.#events.of(from)];
    await this.deviceRemoved(from, []);
    this.#events.note(to, events);
    const device = this.deps.devices().find((d) => d.id === to);
    if (device) await this.deviceUpdated(device, true);
  }
}
