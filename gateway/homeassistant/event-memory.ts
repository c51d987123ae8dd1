// The event properties (button, button_2, action...) each device has reported. The core removes an event from
// the device state once it is published, so discovery cannot find it there again (on HA's birth message, after a
// rename): without this memory its entity would never be announced again.
import { meaningOf } from './properties.js';

/** Event properties kept per device: a device cannot grow the memory without bound by inventing names. */
const MAX_PER_DEVICE = 64;

export class EventMemory {
  readonly #events = new Map<string, Set<string>>();

  /** Remembers those of `properties` that are events. */
  note(deviceId: string, properties: Iterable<string>): void {
    for (const property of properties) {
      if (meaningOf(property)?.component !== 'event') continue;
      let set = this.#events.get(deviceId);
      if (!set) {
        set = new Set();
        this.#events.set(deviceId, set);
      }
      if (set.size < MAX_PER_DEVICE) set.add(property);
    }
  }

  of(deviceId: string): ReadonlySet<string> {
    return this.#events.get(deviceId) ?? new Set();
  }

  forget(deviceId: string): void {
    this.#events.delete(deviceId);
  }
}
