// Runtime view of the configured devices: merged state, last seen, availability and static info.
import type { StateValues } from '../adapter.js';
import type { DeviceConfig } from '../config/schema.js';
import { formatLastSeen, type LastSeenFormat } from './last-seen.js';

export interface DeviceRecord {
  config: DeviceConfig;
  state: StateValues;
  /** Wall-clock time of the last message, for display (last_seen): NTP may step it, so no timeout counts from it. */
  lastSeen: Date | null;
  /** performance.now() of the last message: the availability timeout counts from it. */
  heardAt: number | null;
  online: boolean;
  /** False until availability was first set: a new device's first "offline" is news (nothing was published yet). */
  availabilityKnown: boolean;
  /** Until when (performance.now()) the transport vouched for `online`; the availability timeout waits for it. */
  onlineUntil: number | null;
  info: Record<string, unknown>;
}

export class DeviceRegistry {
  readonly #devices = new Map<string, DeviceRecord>();
  /** last_seen of the last merge: a busy gateway merges many messages per millisecond, format once each. */
  #formattedAt = Number.NaN;
  #formatted: string | number | undefined;
  #format: LastSeenFormat = 'ISO_8601';

  /** How merges write last_seen (api.last_seen). */
  set lastSeenFormat(format: LastSeenFormat) {
    if (format === this.#format) return;
    this.#format = format;
    this.#formattedAt = Number.NaN;
  }

  /** Replace the configured device list, keeping runtime state of devices that stay. `carry` maps a new id to
   * the old id whose runtime state it inherits (a rename); the old id still counts as removed. */
  configure(
    devices: readonly DeviceConfig[],
    carry: Readonly<Record<string, string>> = {},
  ): { added: string[]; removed: string[]; changed: string[] } {
    const added: string[] = [];
    const changed: string[] = [];
    const next = new Map<string, DeviceRecord>();
    for (const config of devices) {
      const existing = this.#devices.get(config.id);
      const inherited = existing ?? (carry[config.id] ? this.#devices.get(carry[config.id] as string) : undefined);
      if (!existing) added.push(config.id);
      else if (JSON.stringify(existing.config) !== JSON.stringify(config)) changed.push(config.id);
      next.set(
        config.id,
        inherited
          ? { ...inherited, config }
          : {
              config,
              state: {},
              lastSeen: null,
              heardAt: null,
              online: false,
              availabilityKnown: false,
              onlineUntil: null,
              info: {},
            },
      );
    }
    const removed = [...this.#devices.keys()].filter((id) => !next.has(id));
    this.#devices.clear();
    for (const [id, rec] of next) this.#devices.set(id, rec);
    return { added, removed, changed };
  }

  get(id: string): DeviceRecord | undefined {
    return this.#devices.get(id);
  }

  all(): DeviceRecord[] {
    return [...this.#devices.values()];
  }

  ofTransport(transport: string): DeviceConfig[] {
    return this.all()
      .filter((d) => d.config.transport === transport)
      .map((d) => d.config);
  }

  /** Merge new values heard at `now` (wall clock) and `heardAt` (performance.now()); returns the merged state. */
  mergeState(id: string, values: StateValues, now: Date, heardAt: number): StateValues | undefined {
    const rec = this.#devices.get(id);
    if (!rec) return undefined;
    const at = now.getTime();
    if (at !== this.#formattedAt) {
      this.#formattedAt = at;
      this.#formatted = formatLastSeen(now, this.#format);
    }
    // A new object each time: earlier states may still be referenced (published, shown, being compared).
    rec.state = { ...rec.state, ...values, last_seen: this.#formatted };
    if (this.#formatted === undefined) delete rec.state.last_seen;
    rec.lastSeen = now;
    rec.heardAt = heardAt;
    return rec.state;
  }

  /** Merge values the gateway reports about a device (AdapterContext.deviceStatus): not a sign of life, so neither
   * last_seen nor heardAt changes. Returns the merged state. */
  mergeStatus(id: string, values: StateValues): StateValues | undefined {
    const rec = this.#devices.get(id);
    if (!rec) return undefined;
    rec.state = { ...rec.state, ...values };
    return rec.state;
  }

  /** Swaps the state of the last merge for a trimmed copy (gateway/devices/state-limits.ts). */
  replaceState(id: string, state: StateValues): void {
    const rec = this.#devices.get(id);
    if (rec) rec.state = state;
  }

  /** Sets a device's state and when it was last heard (its retained state after a restart, or a merge undone). */
  restore(id: string, state: StateValues, lastSeen: Date | null, heardAt: number | null): void {
    const rec = this.#devices.get(id);
    if (!rec) return;
    rec.state = state;
    rec.lastSeen = lastSeen;
    rec.heardAt = heardAt;
  }

  /** Returns true when the availability changed, or was set for the first time. Offline ends what the
   * transport vouched for. */
  setOnline(id: string, online: boolean): boolean {
    const rec = this.#devices.get(id);
    if (!rec) return false;
    if (!online) rec.onlineUntil = null;
    if (rec.online === online && rec.availabilityKnown) return false;
    rec.online = online;
    rec.availabilityKnown = true;
    return true;
  }

  /** The transport vouches that the device is online until `until` (performance.now()). */
  vouch(id: string, until: number): void {
    const rec = this.#devices.get(id);
    if (rec) rec.onlineUntil = until;
  }

  touch(id: string, now: Date, heardAt: number): void {
    const rec = this.#devices.get(id);
    if (!rec) return;
    rec.lastSeen = now;
    rec.heardAt = heardAt;
  }

  /** The device was last heard at `lastSeen`, as a transport says later (its state restored after a restart): taken
   * unless it was heard since. `heardAt` null: that time cannot be placed on this run's monotonic clock. */
  heardEarlier(id: string, lastSeen: Date, heardAt: number | null): void {
    const rec = this.#devices.get(id);
    if (!rec || (rec.lastSeen !== null && rec.lastSeen.getTime() >= lastSeen.getTime())) return;
    rec.lastSeen = lastSeen;
    if (heardAt !== null) rec.heardAt = heardAt;
  }

  mergeInfo(id: string, info: Record<string, unknown>): boolean {
    const rec = this.#devices.get(id);
    if (!rec) return false;
    rec.info = { ...rec.info, ...info };
    return true;
  }
}
