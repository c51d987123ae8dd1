// Per-device `throttle` and `debounce` (Zigbee2MQTT's device options of the same names): how often a device's state
// is published. A held report is merged into the device's state at once (the dashboard's /get, a restart and the
// next publish all see it); only its publishing waits, and the publish that ends the wait carries the latest state
// and the property topics of every key held meanwhile, so no last value is lost.
import type { DeviceConfig } from '../config/schema.js';

export interface Pacing {
  throttleMs?: number;
  debounceMs?: number;
  /** With debounce: properties whose new value is published at once. */
  debounceIgnore?: readonly string[];
}

/** A debounced state is held at most this many debounce intervals: a device that never goes quiet still publishes. */
const DEBOUNCE_MAX_INTERVALS = 10;
const NONE: readonly string[] = [];

interface Held {
  keys: Set<string>;
  timer: NodeJS.Timeout;
  /** performance.now() of the first held report (debounce: the latest release time counts from it). */
  since: number;
}

export function pacingOf(config: DeviceConfig): Pacing | undefined {
  const { throttle, debounce, debounce_ignore } = config as {
    throttle?: number;
    debounce?: number;
    debounce_ignore?: string[];
  };
  if (throttle === undefined && debounce === undefined) return undefined;
  return {
    ...(throttle !== undefined ? { throttleMs: throttle * 1000 } : {}),
    ...(debounce !== undefined ? { debounceMs: debounce * 1000 } : {}),
    ...(debounce_ignore ? { debounceIgnore: debounce_ignore } : {}),
  };
}

export class ReportPacer {
  readonly #held = new Map<string, Held>();
  /** Throttle: performance.now() of each device's last state publish. */
  readonly #lastPublished = new Map<string, number>();

  /** `release` publishes a device's current state and the property topics of `keys`, when a hold ends. */
  constructor(private readonly release: (id: string, keys: readonly string[]) => Promise<void>) {}

  /**
   * A report with these property `keys` was merged. Returns undefined when its publishing is held, or the keys
   * held from earlier reports that the caller's publish now covers too (usually none). `ignoredChanged`: a
   * debounce_ignore property got a new value (debounce only).
   */
  admit(
    id: string,
    keys: readonly string[],
    pacing: Pacing | undefined,
    ignoredChanged = false,
  ): readonly string[] | undefined {
    if (!pacing) return this.#take(id);
    const now = performance.now();
    if (pacing.throttleMs !== undefined) return this.#throttle(id, keys, pacing.throttleMs, now);
    if (pacing.debounceMs !== undefined && !ignoredChanged) {
      this.#debounce(id, keys, pacing.debounceMs, now);
      return undefined;
    }
    return this.#take(id);
  }

  /** The keys held for a device, no longer held: the caller publishes them now (a press carries the state). */
  take(id: string): readonly string[] {
    return this.#take(id);
  }

  /** Forgets a device (removed, or renamed: its state is republished under the new id). */
  forget(id: string): void {
    this.#take(id);
    this.#lastPublished.delete(id);
  }

  /** Publishes everything held now (a reload may change the pacing; a stop must not lose the last values). */
  async releaseAll(): Promise<void> {
    const released = [...this.#held.keys()].map((id) => this.release(id, this.#take(id)));
    await Promise.all(released);
  }

  #throttle(id: string, keys: readonly string[], intervalMs: number, now: number): readonly string[] | undefined {
    const held = this.#held.get(id);
    if (held) {
      for (const key of keys) held.keys.add(key);
      return undefined;
    }
    const last = this.#lastPublished.get(id);
    if (last === undefined || now - last >= intervalMs) {
      this.#lastPublished.set(id, now);
      return NONE;
    }
    this.#hold(id, keys, last + intervalMs - now, now);
    return undefined;
  }

  #debounce(id: string, keys: readonly string[], quietMs: number, now: number): void {
    const held = this.#held.get(id);
    if (!held) {
      this.#hold(id, keys, quietMs, now);
      return;
    }
    for (const key of keys) held.keys.add(key);
    clearTimeout(held.timer);
    const latest = held.since + quietMs * DEBOUNCE_MAX_INTERVALS;
    held.timer = this.#timer(id, Math.max(0, Math.min(now + quietMs, latest) - now));
  }

  #hold(id: string, keys: readonly string[], delayMs: number, now: number): void {
    this.#held.set(id, { keys: new Set(keys), timer: this.#timer(id, delayMs), since: now });
  }

  #timer(id: string, delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const keys = this.#take(id);
      this.#lastPublished.set(id, performance.now());
      void this.release(id, keys);
    }, delayMs);
    timer.unref();
    return timer;
  }

  #take(id: string): readonly string[] {
    const held = this.#held.get(id);
    if (!held) return NONE;
    clearTimeout(held.timer);
    this.#held.delete(id);
    return [...held.keys];
  }
}
