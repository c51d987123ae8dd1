// Raw SMP packets back from ordered fragments, by the header's length field. SMP over BLE splits a packet over
// several writes or notifications with nothing around it (Zephyr's SMP transport specification): the 8-byte header
// in the first fragment says how many body bytes follow. Pure: no I/O, never throws.
import { decodeSmpHeader, SMP_HEADER_SIZE } from './header.js';

/**
 * The largest packet (header included) the gateway reassembles. Zephyr's SMP buffer
 * (CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE) is 384 bytes by default and 2475 in nRF Connect's fast-DFU setup; every
 * answer to the gateway's requests is far smaller. Larger declared lengths are refused, so a corrupt header cannot
 * make the gateway hold 64 KiB per device.
 */
export const MAX_SMP_PACKET = 8192;

export type ReassemblyEvent =
  | { kind: 'packet'; packet: Uint8Array }
  | { kind: 'error'; reason: string; bytes: Uint8Array };

export class SmpPacketReassembler {
  readonly #head = new Uint8Array(SMP_HEADER_SIZE);
  #headBytes = 0;
  /** The packet being filled, allocated at its declared size once the header is complete. */
  #packet: Uint8Array | undefined;
  #filled = 0;

  constructor(readonly maxPacket = MAX_SMP_PACKET) {}

  /** Bytes held for a packet not yet complete (never more than `maxPacket`). */
  get pending(): number {
    return this.#packet ? this.#filled : this.#headBytes;
  }

  /** Takes one fragment; returns the packets it completed and what it had to drop. */
  push(fragment: Uint8Array): ReassemblyEvent[] {
    const out: ReassemblyEvent[] = [];
    let off = 0;
    // Every pass consumes at least one byte of the fragment or returns.
    while (off < fragment.length) {
      if (!this.#packet) {
        const take = Math.min(SMP_HEADER_SIZE - this.#headBytes, fragment.length - off);
        this.#head.set(fragment.subarray(off, off + take), this.#headBytes);
        this.#headBytes += take;
        off += take;
        if (this.#headBytes < SMP_HEADER_SIZE) break;
        const refused = this.#startPacket();
        if (refused) {
          // No marker to resynchronise on inside a fragment: the rest of it goes with the bad header.
          out.push({ kind: 'error', reason: refused, bytes: concat(this.#head, fragment.subarray(off)) });
          this.reset();
          return out;
        }
      }
      const packet = this.#packet!;
      const take = Math.min(packet.length - this.#filled, fragment.length - off);
      packet.set(fragment.subarray(off, off + take), this.#filled);
      this.#filled += take;
      off += take;
      if (this.#filled === packet.length) {
        out.push({ kind: 'packet', packet });
        this.reset();
      }
    }
    return out;
  }

  /** Drops a partial packet (the link dropped, or a new request makes it stale); says what was dropped. */
  flush(why: string): ReassemblyEvent[] {
    const held = this.#packet ? this.#packet.subarray(0, this.#filled) : this.#head.slice(0, this.#headBytes);
    const total = this.#packet?.length;
    this.reset();
    if (held.length === 0) return [];
    const of = total === undefined ? 'an incomplete header' : `a ${total}-byte packet`;
    return [{ kind: 'error', reason: `${why}: dropped ${held.length} bytes of ${of}`, bytes: held }];
  }

  reset(): void {
    this.#headBytes = 0;
    this.#packet = undefined;
    this.#filled = 0;
  }

  /** Allocates the packet the complete header announces; the reason when the header is refused. */
  #startPacket(): string | undefined {
    const header = decodeSmpHeader(this.#head);
    if (!header.ok) return header.reason;
    const total = SMP_HEADER_SIZE + header.value.length;
    if (total > this.maxPacket) return `SMP packet of ${total} bytes exceeds the ${this.maxPacket}-byte limit`;
    this.#packet = new Uint8Array(total);
    this.#packet.set(this.#head, 0);
    this.#filled = SMP_HEADER_SIZE;
    return undefined;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
