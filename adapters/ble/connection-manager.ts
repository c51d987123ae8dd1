// Keeps GATT connections to the devices configured with `connect: true`: at most `max` at a time, connect when
// the device advertises, reconnect with exponential back-off after a failure or link loss.
import type { Logger } from '../../gateway/logger.js';
import { DeviceSession, IdentityMismatchError, type SessionEvents } from './gatt/device-session.js';
import type { BleDevice } from './identity.js';
import type { NoblePeripheral } from './noble-types.js';
import type { BleSmpTransport } from './smp-transport.js';

export interface ConnectionOptions {
  maxConnections: number;
  gattTimeoutMs: number;
  connectTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

interface Slot {
  device: BleDevice;
  state: 'idle' | 'connecting' | 'connected';
  session?: DeviceSession;
  backoffMs: number;
  notBefore: number;
  lastError?: string;
  waiting: boolean;
  /** Takes the link's 'disconnect' listener off its peripheral: a link dropped without that event (dropLinks)
   * would otherwise leave it there, with its session, until the next real disconnect. */
  unlisten?: () => void;
}

export interface ConnectionCallbacks {
  online(deviceId: string, address: string): void;
  offline(deviceId: string): void;
  events(deviceId: string): SessionEvents;
  /** The device's identity check read another serial number at this address (null: none). */
  mismatch(address: string, serial: string | null): void;
  /** Links held outside the manager (serial probes), which count against maxConnections too. */
  linksElsewhere(): number;
  /** The device's SMP transport, when its config enables SMP. */
  smp?(deviceId: string): BleSmpTransport | undefined;
}

/** Keys of a BLE entry that only advert decoding reads: a change needs no new GATT session. */
const ADVERT_ONLY_KEYS: ReadonlySet<string> = new Set(['bind_key', 'manufacturer_data']);

/** The part of an entry a GATT session depends on (match, profile, characteristics, nus, smp...). */
function sessionKeys(device: BleDevice): string {
  return JSON.stringify(Object.entries(device).filter(([key]) => !ADVERT_ONLY_KEYS.has(key)));
}

export class ConnectionManager {
  readonly #slots = new Map<string, Slot>();
  #stopped = false;

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly callbacks: ConnectionCallbacks,
    private readonly logger: Logger,
  ) {}

  get active(): number {
    let n = 0;
    for (const s of this.#slots.values()) if (s.state !== 'idle') n++;
    return n;
  }

  /** The device advertised through `peripheral`: connect now if it is due and a connection slot is free. */
  offer(device: BleDevice, peripheral: NoblePeripheral, now = performance.now()): void {
    if (this.#stopped || !peripheral.connectable) return;
    let slot = this.#slots.get(device.id);
    if (!slot) {
      slot = { device, state: 'idle', backoffMs: this.opts.reconnectMinMs, notBefore: 0, waiting: false };
      this.#slots.set(device.id, slot);
    }
    slot.device = device;
    if (slot.state !== 'idle' || now < slot.notBefore) return;
    if (!this.hasFreeLink()) {
      slot.waiting = true;
      return;
    }
    slot.waiting = false;
    void this.#connect(slot, peripheral);
  }

  /** Whether another link fits under maxConnections. */
  hasFreeLink(): boolean {
    return this.active + this.callbacks.linksElsewhere() < this.opts.maxConnections;
  }

  /** Whether a session is using (or opening) the link to this noble peripheral. */
  holds(peripheralId: string): boolean {
    for (const s of this.#slots.values())
      if (s.state !== 'idle' && s.session?.peripheral.id === peripheralId) return true;
    return false;
  }

  isConnected(deviceId: string): boolean {
    return this.#slots.get(deviceId)?.state === 'connected';
  }

  session(deviceId: string): DeviceSession | undefined {
    const slot = this.#slots.get(deviceId);
    return slot?.state === 'connected' ? slot.session : undefined;
  }

  async #connect(slot: Slot, peripheral: NoblePeripheral): Promise<void> {
    const id = slot.device.id;
    slot.state = 'connecting';
    const session = new DeviceSession(
      peripheral,
      slot.device,
      { gattTimeoutMs: this.opts.gattTimeoutMs, connectTimeoutMs: this.opts.connectTimeoutMs },
      this.callbacks.events(id),
      this.callbacks.smp?.(id),
    );
    slot.session = session;
    try {
      await session.connect();
    } catch (err) {
      // Ended from outside (dropLinks, stop): the slot has moved on, perhaps to a newer session.
      if (slot.session !== session) return;
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof IdentityMismatchError) {
        this.callbacks.mismatch(peripheral.address, err.serial ?? null);
        this.#release(slot, 0);
      } else {
        this.logger.warn({ device: id, err: message, retryInMs: slot.backoffMs }, 'ble connection failed');
        slot.lastError = message;
        this.#release(slot, slot.backoffMs);
        slot.backoffMs = Math.min(slot.backoffMs * 2, this.opts.reconnectMaxMs);
      }
      return;
    }
    if (this.#stopped || slot.session !== session) {
      session.disconnect();
      return;
    }
    slot.state = 'connected';
    slot.lastError = undefined;
    const connectedAt = performance.now();
    const onDisconnect = (): void => {
      if (slot.session !== session) return;
      // Only a link that lasted starts the back-off again: one the device drops right after set-up is a failure
      // too, or such a device would be connected, set up and lost again at the rate it advertises.
      if (performance.now() - connectedAt >= this.opts.reconnectMaxMs) slot.backoffMs = this.opts.reconnectMinMs;
      this.logger.info({ device: id }, 'ble link lost');
      session.disconnect();
      this.#release(slot, slot.backoffMs);
      slot.backoffMs = Math.min(slot.backoffMs * 2, this.opts.reconnectMaxMs);
      this.callbacks.offline(id);
    };
    peripheral.once('disconnect', onDisconnect);
    slot.unlisten = () => peripheral.off('disconnect', onDisconnect);
    this.logger.info({ device: id, address: peripheral.address }, 'ble connected');
    this.callbacks.online(id, peripheral.address);
  }

  #release(slot: Slot, delayMs: number): void {
    slot.unlisten?.();
    slot.unlisten = undefined;
    slot.state = 'idle';
    slot.session = undefined;
    slot.notBefore = performance.now() + delayMs;
  }

  /**
   * Applies a new device list: devices no longer configured are disconnected and forgotten; a connected device
   * whose entry changed in a key the session uses is disconnected so that it reconnects with the new entry (which
   * ends an SMP request or firmware upload in progress). Keys only adverts use apply without a reconnect; the
   * core's keys (name, availability_timeout) never reach the adapter's entry.
   */
  retain(devices: BleDevice[]): void {
    const byId = new Map(devices.map((d) => [d.id, d]));
    for (const [id, slot] of this.#slots) {
      const next = byId.get(id);
      if (!next) {
        slot.session?.disconnect();
        this.#slots.delete(id);
        continue;
      }
      const reconnect = sessionKeys(next) !== sessionKeys(slot.device);
      slot.device = next;
      if (reconnect) slot.session?.disconnect();
    }
  }

  /**
   * The controller went away (powered off, unplugged, taken by another process): its links and pending connections
   * are gone, though noble reports no 'disconnect' for them. Each device connects again at its next advert once the
   * controller is back.
   */
  dropLinks(): void {
    for (const [id, slot] of this.#slots) {
      if (slot.state === 'idle') continue;
      const wasConnected = slot.state === 'connected';
      slot.session?.disconnect();
      this.#release(slot, 0);
      if (wasConnected) this.callbacks.offline(id);
    }
  }

  status(): Record<string, unknown> {
    const devices: Record<string, unknown> = {};
    for (const [id, s] of this.#slots) {
      devices[id] = {
        state: s.state,
        waiting_for_slot: s.waiting,
        ...(s.lastError ? { last_error: s.lastError } : {}),
      };
    }
    return { active: this.active, max: this.opts.maxConnections, devices };
  }

  stop(): void {
    this.#stopped = true;
    for (const [id, slot] of this.#slots) {
      slot.session?.disconnect();
      slot.session = undefined;
      // The link vouched for the device (online until it drops): its end here is the one that says offline.
      if (slot.state === 'connected') this.callbacks.offline(id);
      slot.state = 'idle';
    }
  }
}
