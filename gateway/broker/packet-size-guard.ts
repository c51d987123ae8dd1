// Enforces the maximum MQTT packet size on a connection. aedes (and mqtt-packet's parser) has no such limit
// and would buffer a packet of any announced length, so we read the fixed headers before the parser sees the
// bytes and close the connection as soon as a packet announces a total size above the limit.

export type OversizeHandler = (announcedBytes: number) => void;

/** Incremental scanner of MQTT fixed headers: byte 1 type/flags, then a 1-4 byte variable length. */
export class PacketSizeScanner {
  #state: 'type' | 'length' | 'body' = 'type';
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;
  /** Offset in the last scanned chunk where the flagged packet starts (0 when it started in an earlier chunk). */
  packetStart = 0;

  constructor(private readonly maxBytes: number) {}

  /** Returns the announced size of the first packet over the limit, -1 for a malformed length, 0 when fine. */
  scan(chunk: Uint8Array): number {
    let i = 0;
    this.packetStart = 0;
    while (i < chunk.length) {
      if (this.#state === 'body') {
        const skip = Math.min(this.#remaining, chunk.length - i);
        this.#remaining -= skip;
        i += skip;
        if (this.#remaining === 0) this.#state = 'type';
        continue;
      }
      const byte = chunk[i++] as number;
      if (this.#state === 'type') {
        this.packetStart = i - 1;
        this.#state = 'length';
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
        continue;
      }
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#lengthBytes++;
      if (byte & 0x80) {
        if (this.#lengthBytes === 4) return -1;
        continue;
      }
      const total = 1 + this.#lengthBytes + this.#length;
      if (total > this.maxBytes) return total;
      this.#remaining = this.#length;
      this.#state = this.#remaining > 0 ? 'body' : 'type';
    }
    return 0;
  }
}

interface ParserLike {
  parse(buf: Buffer): unknown;
}

/**
 * Puts the scanner in front of aedes' packet parser (`client._parser`, an mqtt-packet Parser): the bytes of
 * packets before the oversized one are parsed, the oversized one never is, and `onOversize` closes the client.
 */
export function guardPacketSize(parser: ParserLike, maxBytes: number, onOversize: OversizeHandler): void {
  const scanner = new PacketSizeScanner(maxBytes);
  const parse = parser.parse.bind(parser);
  let tripped = false;
  parser.parse = (buf: Buffer) => {
    if (tripped) return 0;
    const verdict = scanner.scan(buf);
    if (verdict === 0) return parse(buf);
    tripped = true;
    if (scanner.packetStart > 0) parse(buf.subarray(0, scanner.packetStart));
    onOversize(verdict);
    return 0;
  };
}
