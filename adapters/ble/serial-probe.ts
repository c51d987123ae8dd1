// Which serial number an unknown connectable advertiser has, for the devices matched only by `serial_number`.
// Each address is probed once (one short connection reading Device Information) and the answer remembered in a
// bounded least-recently-used map, so no address is probed again and again. At most one probe per address runs
// at a time: two GATT sessions on one noble peripheral replace each other's service objects and both fail.
import type { Logger } from '../../gateway/logger.js';
import { OldestKey } from '../../gateway/oldest-key.js';
import { readSerialNumber, type SerialReadOptions } from './gatt/serial-number.js';
import type { NoblePeripheral } from './noble-types.js';

/** What a probe found: the serial number (null: none), or when it failed (to be tried again later). */
type Probed = { serial: string | null } | { failedAt: number };

export interface SerialProbeOptions extends SerialReadOptions {
  /** Addresses remembered. */
  max: number;
  /** Wait after a failed probe before the address is tried again. */
  retryMs: number;
}

export class SerialProbe {
  /** Re-inserted on use, so the oldest entry is the least recently used. */
  readonly #probed = new Map<string, Probed>();
  readonly #oldest = new OldestKey(this.#probed);
  readonly #running = new Set<string>();

  constructor(
    private readonly opts: SerialProbeOptions,
    private readonly logger: Logger,
  ) {}

  /** Probes running now (each holds a connection). */
  get running(): number {
    return this.#running.size;
  }

  /** The serial number found at `address` (null: it has none), or undefined when not known. */
  serialAt(address: string): string | null | undefined {
    const probed = this.#probed.get(address);
    if (!probed || !('serial' in probed)) return undefined;
    this.#set(address, probed);
    return probed.serial;
  }

  /** Whether the address is worth a probe now: not known, not being probed, no recent failure. */
  wants(address: string, now: number): boolean {
    if (this.#running.has(address)) return false;
    const probed = this.#probed.get(address);
    return !probed || ('failedAt' in probed && now - probed.failedAt >= this.opts.retryMs);
  }

  /** Records the serial number a connection found at the address (a device session's identity check, too). */
  remember(address: string, serial: string | null): void {
    this.#set(address, { serial });
  }

  /** Reads the serial number at `address` once. */
  async probe(p: NoblePeripheral, address: string): Promise<void> {
    if (!this.wants(address, performance.now())) return;
    this.#running.add(address);
    try {
      this.remember(address, await readSerialNumber(p, this.opts));
    } catch (err) {
      this.#set(address, { failedAt: performance.now() });
      this.logger.debug({ address, err: err instanceof Error ? err.message : String(err) }, 'ble serial probe failed');
    } finally {
      this.#running.delete(address);
    }
  }

  clear(): void {
    this.#probed.clear();
    this.#oldest.reset();
  }

  #set(address: string, probed: Probed): void {
    if (!this.#probed.delete(address)) {
      if (this.#probed.size < this.opts.max) this.#oldest.release();
      else {
        const oldest = this.#oldest.take();
        if (oldest !== undefined) this.#probed.delete(oldest);
      }
    }
    this.#probed.set(address, probed);
  }
}
