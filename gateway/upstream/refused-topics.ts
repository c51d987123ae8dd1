// Upstream topics the upstream answered by closing the connection (a poison verdict, poison-guard.ts). Each later
// message on such a topic is given up at once instead of costing four more connections: on MQTT 3.1.1 a broker
// policy that denies a topic (AWS IoT Core, Azure IoT Hub) closes the connection on every message there, and the
// gateway's own reports (bridge/info, bridge/event) come back after every reconnect. Forgotten on a reload (the
// policy or the mappings may have been fixed).
const MAX_TOPICS = 1024;

export class RefusedTopics {
  readonly #reasons = new Map<string, string>();

  get size(): number {
    return this.#reasons.size;
  }

  add(topic: string, reason: string): void {
    this.#reasons.delete(topic);
    this.#reasons.set(topic, reason);
    if (this.#reasons.size > MAX_TOPICS) {
      const oldest = this.#reasons.keys().next().value;
      if (oldest !== undefined) this.#reasons.delete(oldest);
    }
  }

  /** Why the upstream refuses `topic`, if it does. */
  reason(topic: string): string | undefined {
    return this.#reasons.get(topic);
  }

  clear(): void {
    this.#reasons.clear();
  }
}
