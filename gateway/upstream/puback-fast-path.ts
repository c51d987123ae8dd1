// Takes plain PUBACKs for the bridge's own publishes off the upstream connection before mqtt.js parses them.
// mqtt.js turns every packet it reads into an object, an event and a process.nextTick; at a drain rate of
// 30,000 messages/s that was a quarter of the gateway's CPU time (docs/benchmarks.md, upstream). This sits
// between the socket and mqtt.js' parser: it frames the byte stream, hands each PUBACK the bridge claims to
// `take` and passes every other byte through unchanged, in order. PUBACKs with a failure reason code, and
// every other packet, still go to mqtt.js, except PUBACKs and PUBRECs whose reason code mqtt.js cannot parse (see
// PARSED_REASONS): those are handed to `take` as refusals.
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';

// mqtt-packet's own table of the codes its parser accepts (its types do not declare the constants module).
const mqttPacketConstants = createRequire(import.meta.url)('mqtt-packet/constants.js') as {
  MQTT5_PUBACK_PUBREC_CODES: Record<string, string>;
};

/**
 * Returns true when the PUBACK for `messageId` was one of the bridge's own (and is now handled). `refusal` is set
 * for a PUBACK or PUBREC whose failure reason code mqtt.js cannot parse.
 */
export type TakePubAck = (messageId: number, refusal?: number) => boolean;

const PUBACK = 0x40;
const PUBREC = 0x50;
/** MQTT 5 PUBACK reason codes that mean success: 0x00 Success, 0x10 No matching subscribers. */
const isSuccess = (reason: number) => reason === 0x00 || reason === 0x10;
/**
 * The PUBACK/PUBREC reason codes of MQTT 5 (3.4.2.1), the only ones mqtt-packet parses. Mosquitto also answers
 * 0x95 Packet too large (a message over its message_size_limit): mqtt-packet drops such a packet with a parse
 * error, mqtt.js never settles the publish, and the message would hold an in-flight slot for good.
 */
const PARSED_REASONS = new Set(Object.keys(mqttPacketConstants.MQTT5_PUBACK_PUBREC_CODES).map(Number));

/** Makes `client` read through the fast path; call before its first connect (mqtt.js `manualConnect`). */
export function routePubAcks(client: { streamBuilder: unknown }, take: () => TakePubAck | undefined): void {
  const build = client.streamBuilder as (c: unknown) => NodeJS.ReadableStream;
  client.streamBuilder = (c: unknown) => {
    const stream = build(c);
    const pipe = stream.pipe.bind(stream);
    // mqtt.js pipes the connection into its parser once per connection: put the filter in between.
    stream.pipe = <T extends NodeJS.WritableStream>(dest: T, opts?: { end?: boolean }): T => {
      pipe(new PubAckFilter(dest, take), opts);
      return dest;
    };
    return stream;
  };
}

export class PubAckFilter extends Writable {
  /** The start of a packet that has not fully arrived. */
  #partial: Buffer | undefined;
  /** After a malformed length the stream cannot be framed any more: everything goes to mqtt.js, which fails it. */
  #unframed = false;

  constructor(
    private readonly dest: NodeJS.WritableStream,
    private readonly take: () => TakePubAck | undefined,
  ) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.#unframed) {
      this.#forward([chunk], done);
      return;
    }
    let buf = chunk;
    if (this.#partial) {
      buf = Buffer.concat([this.#partial, chunk]);
      this.#partial = undefined;
    }
    const take = this.take();
    const out: Buffer[] = [];
    let passFrom = 0; // start of the bytes not yet passed on
    let at = 0;
    while (at < buf.length) {
      // Fixed header: type byte and a 1-4 byte remaining length.
      let remaining = 0;
      let mul = 1;
      let i = at + 1;
      let complete = false;
      for (let n = 0; n < 4 && i < buf.length; n++) {
        const byte = buf[i++]!;
        remaining += (byte & 0x7f) * mul;
        mul *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (i - at > 4) {
          this.#unframed = true; // a length of 5+ bytes
          break;
        }
        this.#partial = buf.subarray(at);
        break;
      }
      const end = i + remaining;
      if (end > buf.length) {
        this.#partial = buf.subarray(at);
        break;
      }
      if (take && this.#takes(take, buf, at, i, remaining)) {
        if (at > passFrom) out.push(buf.subarray(passFrom, at));
        passFrom = end;
      }
      at = end;
    }
    const passEnd = this.#partial ? buf.length - this.#partial.length : buf.length;
    if (passEnd > passFrom) out.push(buf.subarray(passFrom, passEnd));
    if (this.#partial) this.#partial = Buffer.from(this.#partial); // do not pin the whole read chunk
    this.#forward(out, done);
  }

  /** Whether `take` handled the packet at `at` (its variable header at `i`). */
  #takes(take: TakePubAck, buf: Buffer, at: number, i: number, remaining: number): boolean {
    const type = buf[at];
    if (type !== PUBACK && type !== PUBREC) return false;
    if (remaining < 2) return false;
    const id = (buf[i]! << 8) | buf[i + 1]!;
    if (remaining === 2) return type === PUBACK && take(id);
    const reason = buf[i + 2]!;
    if (!PARSED_REASONS.has(reason)) return take(id, reason);
    return type === PUBACK && remaining === 3 && isSuccess(reason) && take(id);
  }

  #forward(parts: Buffer[], done: (err?: Error | null) => void): void {
    let ok = true;
    for (const part of parts) ok = this.dest.write(part);
    if (ok) done();
    else this.dest.once('drain', () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.#partial) this.dest.write(this.#partial);
    this.#partial = undefined;
    this.dest.end();
    done();
  }
}
