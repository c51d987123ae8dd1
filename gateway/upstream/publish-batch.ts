// Encodes MQTT PUBLISH packets for queued records straight from the queue's read buffer, many packets per
// buffer, so a batch of records costs one copy and one socket write instead of mqtt.js' per-packet objects,
// store copy and several small writes. Acknowledgements still go through mqtt.js (client.outgoing), see bridge.ts.
import { type PacketCallback, Store } from 'mqtt';
import type { RecordView } from './queue/record.js';

const CHUNK_BYTES = 64 * 1024;

export class PublishBatch {
  #parts: Buffer[] = [];
  #buf: Buffer = Buffer.allocUnsafe(0);
  #len = 0;

  constructor(readonly v5: boolean) {}

  /** Appends one PUBLISH (`messageId` is ignored for QoS 0); `qos` and `retain` may be lower than the record's
   * (what the upstream supports, see link-limits.ts). `dup`: a re-delivery of a QoS 1/2 message (MQTT-3.3.1-1). */
  add(view: RecordView, messageId: number, qos: 0 | 1 | 2 = view.qos, retain = view.retain, dup = false): void {
    const topicLen = view.topicEnd - view.topicStart;
    const payloadLen = view.payloadEnd - view.topicEnd;
    const remaining = 2 + topicLen + (qos > 0 ? 2 : 0) + (this.v5 ? 1 : 0) + payloadLen;
    const total = 1 + varintBytes(remaining) + remaining;
    if (this.#buf.length - this.#len < total) {
      if (this.#len > 0) this.#parts.push(this.#buf.subarray(0, this.#len));
      this.#buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, total));
      this.#len = 0;
    }
    const b = this.#buf;
    let o = this.#len;
    b[o++] = 0x30 | (dup && qos > 0 ? 0x08 : 0) | (qos << 1) | (retain ? 1 : 0);
    for (let r = remaining; ; ) {
      const byte = r & 0x7f;
      r >>>= 7;
      b[o++] = r > 0 ? byte | 0x80 : byte;
      if (r === 0) break;
    }
    b[o++] = topicLen >> 8;
    b[o++] = topicLen & 0xff;
    o += view.buf.copy(b, o, view.topicStart, view.topicEnd);
    if (qos > 0) {
      b[o++] = messageId >> 8;
      b[o++] = messageId & 0xff;
    }
    if (this.v5) b[o++] = 0; // no properties
    o += view.buf.copy(b, o, view.topicEnd, view.payloadEnd);
    this.#len = o;
  }

  /** The encoded packets (one or a few buffers); the batch starts empty again. */
  take(): Buffer[] {
    if (this.#len > 0) this.#parts.push(this.#buf.subarray(0, this.#len));
    const parts = this.#parts;
    this.#parts = [];
    this.#buf = this.#buf.subarray(this.#len); // the rest of the chunk serves the next batch
    this.#len = 0;
    return parts;
  }
}

function varintBytes(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

/**
 * mqtt.js' outgoing store, for publishes the bridge writes itself: they are never put into it (the disk queue
 * is their store), so their acknowledgement must not fail with "missing packet" (nor build an Error per
 * PUBACK). Publishes made through client.publish (the link state) and the PUBRELs mqtt.js sends for the
 * bridge's QoS 2 publishes are stored and removed as usual. One store outlives the clients (mqtt.js closes it
 * with its client): what is left in it is sent again first on the next connection.
 */
export class BridgeOutgoingStore extends Store {
  /** Message id -> the stored packet's command (a QoS 2 publish becomes a pubrel under the same id). */
  readonly #stored = new Map<number | undefined, string>();

  override put(packet: Parameters<Store['put']>[0], cb: Parameters<Store['put']>[1]): this {
    this.#stored.set(packet.messageId, packet.cmd);
    return super.put(packet, cb);
  }

  /** Forgets the stored publishes (link state), keeping the PUBRELs owed. mqtt.js sends what is stored one at a
   * time before it reports the connection up: a state publish the upstream answers by closing the connection
   * (a policy refusing the topic or retain) would block every later connection, even after a reload changed the
   * state topic. The next connection publishes the state anew. */
  forgetPublishes(): void {
    for (const [messageId, cmd] of this.#stored) {
      if (cmd !== 'publish') continue;
      this.#stored.delete(messageId);
      super.del({ messageId }, () => {});
    }
  }

  override del(packet: Parameters<Store['del']>[0], cb: PacketCallback): this {
    if (!this.#stored.delete(packet.messageId)) {
      cb(undefined, packet as Parameters<PacketCallback>[1]);
      return this;
    }
    return super.del(packet, cb);
  }

  override close(cb?: () => void): void {
    cb?.();
  }
}
