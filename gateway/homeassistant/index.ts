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

export interface HomeAssistantDeps {
  config: HomeAssistantConfig;
  gatewayId: string;
  baseTopic: string;
  publish(topic: string, payload: string, opts: { retain: boolean; qos: 0 | 1 }): Promise<void>;
  subscribe(filter: string, handler: (msg: BrokerMessage) => void): () => void;
  devices(): DiscoveryDevice[];
}

export class HomeAssistantDiscovery {
  /** Discovery topics published per device, so a removal clears exactly those. */
  readonly #published = new Map<string, Set<string>>();
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
    await this.publishAll(true);
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

  /** Publish configs for properties not announced yet (or all of them with `force`). */
  async deviceUpdated(device: DiscoveryDevice, force = false): Promise<void> {
    let seen = this.#published.get(device.id);
    if (!seen) {
      seen = new Set();
      this.#published.set(device.id, seen);
    }
    for (const msg of discoveryMessages(this.#opts, device)) {
      if (!force && seen.has(msg.topic)) continue;
      seen.add(msg.topic);
      await this.deps.publish(msg.topic, JSON.stringify(msg.payload), { retain: true, qos: 1 });
    }
  }

  async deviceRemoved(deviceId: string, properties: Iterable<string>): Promise<void> {
    const topics = new Set([...removalMessages(this.#opts, deviceId, properties)].map((m) => m.topic));
    for (const t of this.#published.get(deviceId) ?? []) topics.add(t);
    this.#published.delete(deviceId);
    for (const topic of topics) await this.deps.publish(topic, '', { retain: true, qos: 1 });
  }
}
