// Upstream topics the upstream answered by closing the connection (a poison verdict, poison-guard.ts). Each later
// message on such a topic is given up at once instead of costing four more connections: on MQTT 3.1.1 a broker
// policy that denies a topic (AWS IoT Core, Azure IoT Hub) closes the connection on every message there, and the
// gateway's own reports (bridge/info, bridge/event) come back after every reconnect. Forgotten on a reload (the
// policy or the mappings may have been fixed) and after REFUSED_FOR_MS: a policy fixed on the broker's side
// reaches the gateway without a reload, for at most four connections per refused topic and hour.
const MAX_TOPICS = 1024;
export const REFUSED_FOR_MS = 60 * 60_000;

export class RefusedTopics {
  readonly #refused = new Map<string, { reason: string; at: number }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  get size(): number {
    return this.#refused.size;
  }

  add(topic: string, reason: string): void {
    this.#refused.delete(topic);
    this.#refused.set(topic, { reason, at: this.now() });
    if (this.#refused.size > MAX_TOPICS) {
      const oldest = this.#refused.keys().next().value;
      if (oldest !== undefined) this.#refused.delete(oldest);
    }
  }

  /** Why the upstream refuses `topic`, if it still does. */
  reason(topic: string): string | undefined {
    const refused = this.#refused.get(topic);
    if (refused === undefined) return undefined;
    if (this.now() - refused.at < REFUSED_FOR_MS) return refused.reason;
    this.#refused.delete(topic); // tried again; a new verdict refuses it anew
    return undefined;
  }

  clear(): void {
    this.#refused.clear();
  }
}
