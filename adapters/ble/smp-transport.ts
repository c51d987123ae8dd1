// SMP (mcumgr) over BLE GATT for one configured device: raw SMP packets (no base64, no CRC) written to the SMP
// characteristic in ATT-sized fragments, answers reassembled from its notifications by the header's length.
// Outlives the GATT connections: each connected session lends it a pipe (attach), and the link loss takes it back
// (detach), which fails the request in flight. Requests made while no link is up fail at once rather than waiting
// for a reconnect whose time nobody knows (it needs the device to advertise): retry once it is online again.
import { SmpClient } from '../common/smp/client.js';
import { feedSmpPacket, type SmpPacketEvents } from '../common/smp/packet-events.js';
import { type ReassemblyEvent, SmpPacketReassembler } from '../common/smp/packet-reassembler.js';
import type { BleSmpSettings } from './config.js';

export const SMP_SERVICE = '8d53dc1d1db74cd3868b8a527460aa84';
export const SMP_CHARACTERISTIC = 'da2e7828fbce4e01ae9e261174997c48';

/** ATT MTU before (or without) an MTU exchange; a write carries MTU - 3 bytes of value. */
const DEFAULT_ATT_MTU = 23;
const ATT_WRITE_HEADER = 3;

/** What a connected session lends the transport: writes to the SMP characteristic and the link's MTU. */
export interface SmpGattPipe {
  write(fragment: Buffer): Promise<void>;
  /** The ATT MTU once exchanged (noble's `peripheral.mtu`); null or undefined before. */
  mtu(): number | null | undefined;
}

/** Value bytes per ATT write (SMP fragments, NUS lines): MTU - 3, or 20 while the MTU is unknown. */
export function fragmentSize(mtu: number | null | undefined): number {
  return Math.max(DEFAULT_ATT_MTU, mtu ?? DEFAULT_ATT_MTU) - ATT_WRITE_HEADER;
}

export class BleSmpTransport {
  readonly client: SmpClient;
  readonly #reassembler = new SmpPacketReassembler();
  #pipe: SmpGattPipe | undefined;
  /** Why requests cannot go out while no pipe is attached. */
  #why: string;

  constructor(
    readonly deviceId: string,
    settings: Pick<BleSmpSettings, 'version' | 'timeout_ms' | 'retries'>,
    private readonly events: SmpPacketEvents,
  ) {
    this.client = new SmpClient({
      send: (packet) => this.#send(packet),
      timeoutMs: settings.timeout_ms,
      retries: settings.retries,
      version: settings.version,
    });
    this.#why = this.#notConnected();
    this.client.close(this.#why);
  }

  get connected(): boolean {
    return this.#pipe !== undefined;
  }

  /** The error a request gets while the device is not connected (or has no SMP characteristic). */
  get unavailableReason(): string {
    return this.#why;
  }

  /** A session subscribed to the SMP characteristic: requests may go out. */
  attach(pipe: SmpGattPipe): void {
    this.#pipe = pipe;
    this.#reassembler.reset();
    this.client.reopen();
  }

  /** The device is connected but cannot take SMP requests. */
  unavailable(reason: string): void {
    this.#why = `device "${this.deviceId}": ${reason}`;
    this.client.close(this.#why);
  }

  /**
   * That session's link is gone: the request in flight fails with `why`, later ones fail fast. `pipe` is undefined
   * for a session that attached none (no usable SMP characteristic); it still ends the reason that session gave.
   */
  detach(pipe: SmpGattPipe | undefined, why = 'device disconnected'): void {
    if (pipe !== this.#pipe) return;
    this.#pipe = undefined;
    this.#report(this.#reassembler.flush('link lost'));
    this.client.close(`device "${this.deviceId}": ${why}`);
    // Only the request in flight saw the message above; requests from now on are told to wait for the reconnect.
    this.#why = this.#notConnected();
    this.client.close(this.#why);
  }

  /** One notification of the SMP characteristic. */
  receive(data: Uint8Array): void {
    this.#report(this.#reassembler.push(data));
  }

  async #send(packet: Uint8Array): Promise<void> {
    const pipe = this.#pipe;
    if (!pipe) throw new Error(this.#notConnected());
    // A partial answer still held belongs to an earlier attempt: its rest would be taken for a new header.
    this.#report(this.#reassembler.flush('new request sent'));
    const size = fragmentSize(pipe.mtu());
    for (let off = 0; off < packet.length; off += size) {
      await pipe.write(Buffer.from(packet.subarray(off, off + size)));
    }
  }

  #report(events: ReassemblyEvent[]): void {
    for (const ev of events) {
      if (ev.kind === 'error') {
        this.events.decodeError(ev.reason, ev.bytes);
        continue;
      }
      feedSmpPacket(this.client, ev.packet, this.events);
    }
  }

  #notConnected(): string {
    return `device "${this.deviceId}" is not connected (SMP needs its GATT link; it reconnects when it advertises)`;
  }
}
