// QoS 2 messages the upstream answered with PUBREC, whose PUBCOMP has not come. The upstream owns such a message
// (MQTT 4.3.3): if the connection drops, the next one only owes it the stored PUBREL (mqtt.js resends it), as long
// as the upstream kept the session (CONNACK Session Present); without the session the message is sent again.
import type { MqttClient } from 'mqtt';
import type { DiskQueue } from './queue/disk-queue.js';

/** The CONNACK of the client's connection said Session Present: the upstream kept the session (its subscriptions,
 * and the QoS 1/2 packet ids in flight). mqtt.js keeps that CONNACK, but not in its typings. */
export function upstreamKeptSession(client: MqttClient): boolean {
  return (client as unknown as { connackPacket?: { sessionPresent?: boolean } }).connackPacket?.sessionPresent === true;
}

export class PubrecHandover {
  /** Queue records of QoS 2 publishes answered with PUBREC. */
  readonly #pubrecd = new Set<number>();

  /** The upstream answered the record's publish with PUBREC. */
  received(seq: number): void {
    this.#pubrecd.add(seq);
  }

  /** The record's publish is finished (PUBCOMP, or a refusal). */
  finished(seq: number): void {
    if (this.#pubrecd.size > 0) this.#pubrecd.delete(seq);
  }

  /** On a new connection's CONNACK: the records are done if the upstream kept the session (the rewind passes over
   * them), else left in the queue to be sent again by the rewind. Returns how many were done (acknowledged in the
   * queue). */
  settle(sessionPresent: boolean, queue: DiskQueue | undefined, settled: (seq: number) => void): number {
    if (this.#pubrecd.size === 0 || !queue) return 0;
    let done = 0;
    if (sessionPresent) {
      for (const seq of this.#pubrecd) {
        queue.ack(seq);
        settled(seq);
      }
      done = this.#pubrecd.size;
    }
    this.#pubrecd.clear();
    return done;
  }

  /** The queue is opened anew on a start: those messages are sent again (at least once). */
  clear(): void {
    this.#pubrecd.clear();
  }
}
