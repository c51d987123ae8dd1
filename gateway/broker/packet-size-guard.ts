// Enforces the maximum MQTT packet size on a connection. aedes (and mqtt-packet's parser) has no such limit
// and would buffer a packet of any announced length, so we read the fixed headers as the bytes go by and
// close the connection as soon as a packet announces a total size above the limit.

export type OversizeHandler = (announcedBytes: number) => void;

/** Incremental scanner of MQTT fixed headers: byte 1 type/flags, then a 1-4 byte variable length. */
export class PacketSizeScanner {
  #state: 'type' | 'length' | 'body' = 'type';
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;

  constructor(private readonly maxBytes: number) {}

  /** Returns the announced size of the first packet over the limit, -1 for a malformed length, 0 when fine. */
  scan(chunk: Uint8Array): number {
    let i = 0;
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

interface ReadableLike {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
}

/**
 * Watches the chunks aedes reads from `stream`. Attach it after aedes.handle(): aedes consumes the stream
 * with 'readable' + read(), so this 'data' listener only observes (it does not switch the stream to flowing).
 */
export function guardPacketSize(stream: ReadableLike, maxBytes: number, onOversize: OversizeHandler): void {
  const scanner = new PacketSizeScanner(maxBytes);
  const onData = (chunk: Buffer) => {
    const verdict = scanner.scan(chunk);
    if (verdict !== 0) {
      stream.off('data', onData);
      onOversize(verdict);
    }
  };
  stream.on('data', onData);
}
