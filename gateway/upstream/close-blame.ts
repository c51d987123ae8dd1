// Why did the upstream close the connection? MQTT 3.1.1 brokers enforce their policy by closing it, so the bridge
// has to guess: the close is blamed on nothing (the broker said it was not about a message), an unanswered
// SUBSCRIBE, the link state publish (link-state.ts) or the first message in flight (poison-guard.ts), which is
// given up, and so is its topic (refused-topics.ts), once the upstream has closed the connection on it each time.
import type { ConnectionRecord } from './connection-record.js';
import { blamesMessage } from './disconnect-reasons.js';
import type { LinkStatePublisher } from './link-state.js';
import { ISOLATE_AFTER, type PoisonGuard } from './poison-guard.js';
import type { RefusedTopics } from './refused-topics.js';

export interface CloseBlameHost {
  /** The upstream's URL, redacted. */
  url(): string;
  poison: PoisonGuard;
  linkState: LinkStatePublisher;
  refused: RefusedTopics;
  setError(error: string): void;
  /** The queue is open (a poison message can be given up). */
  hasQueue(): boolean;
  /** Gives the queued message up: acknowledged in the queue (it is still in flight: the next connection rewinds)
   * and dropped as rejected for `reason`. */
  giveUp(seq: number, reason: string): void;
}

/** A message given up this large is blamed on its size, not its topic (brokers' packet limits: AWS IoT 128 KB). */
export const LARGE_MESSAGE_BYTES = 32 * 1024;

export class CloseBlame {
  constructor(private readonly host: CloseBlameHost) {}

  /** The error for a connection closed without a word before CONNACK: AWS IoT Core and Azure IoT Hub do that for
   * a client id, will topic or retained will their policy does not allow. */
  static beforeConnack(url: string, clientId: string, will: string | undefined): string {
    const willPart = will === undefined ? '' : `, the will topic ${will} and retain`;
    return `upstream ${url} closed the connection before CONNACK: check the broker's policy for client_id ${clientId}${willPart} (bridge.client_id, bridge.state_topic, bridge.retain, bridge.link_state)`;
  }

  /** Decides what an accepted connection's close counts against: nothing (an MQTT 5 DISCONNECT that names the
   * server or the connection as the reason, a SUBSCRIBE still unanswered), the link state publish, or the first
   * message in flight (poison-guard.ts). Whatever it does not count against starts a fresh poison window. */
  accepted(conn: ConnectionRecord): void {
    const { poison } = this.host;
    if (conn.disconnectCode !== undefined && !blamesMessage(conn.disconnectCode)) {
      poison.connectionStarted();
      return;
    }
    const filter = conn.subscribing.values().next().value;
    if (filter !== undefined) {
      poison.connectionStarted();
      // The link state publish before it may be what the upstream closed on (its refusal can be lost with the
      // connection: Mosquitto refuses it with 0x87, then resets the connection when max_queued_messages is 0). It
      // counts as well: once it is given up, a connection without it tells the two apart.
      this.host.linkState.closedOnState(conn);
      const why = conn.disconnect ? ` (${conn.disconnect})` : '';
      this.host.setError(
        `upstream ${this.host.url()} closed the connection before answering the subscription to ${filter}${why}: check that the broker's policy allows subscribing to it (the \`in\` and \`both\` mappings of bridge.topics)`,
      );
      return;
    }
    if (this.host.linkState.closedOnState(conn)) poison.connectionStarted();
    else this.#givePoisonUp(conn);
  }

  /** A message the upstream closed the connection on each time: given up, and so is its topic (refused-topics.ts). */
  #givePoisonUp(conn: ConnectionRecord): void {
    const poison = this.host.poison.connectionClosed();
    if (!poison || !this.host.hasQueue()) {
      if (!conn.reported) this.host.setError(this.#closedWithoutWord());
      return;
    }
    const why = conn.disconnect ? ` (${conn.disconnect})` : '';
    const { topic, strikes, bytes } = poison;
    if (bytes >= LARGE_MESSAGE_BYTES) {
      // A packet size limit, most likely (MQTT 3.1.1 cannot say so): this message goes, its topic stays open, or
      // one large reading would cost the device's next hour of smaller ones.
      this.host.giveUp(
        poison.seq,
        `the upstream closed the connection each time this message of ${bytes} bytes was sent (${strikes} times, the last time alone)${why}: over the broker's largest packet? Topic ${topic}; later messages on it are still sent`,
      );
      return;
    }
    if (topic !== undefined) {
      this.host.refused.add(
        topic,
        `the upstream closes the connection on topic ${topic}${why}: dropped without sending (for an hour or until a reload)`,
      );
    }
    this.host.giveUp(
      poison.seq,
      `the upstream closed the connection each time this message was sent (${strikes} times, the last time alone)${why}: topic ${topic}; later messages on it are dropped without sending for an hour or until a reload`,
    );
  }

  /** The upstream closed an accepted connection without saying why (MQTT 3.1.1 has no way to). */
  #closedWithoutWord(): string {
    const closed = `upstream ${this.host.url()} closed the connection`;
    const suspect = this.host.poison.suspect();
    if (!suspect?.topic) return closed;
    const times = suspect.strikes === 1 ? 'once' : `${suspect.strikes} times in a row`;
    return `${closed} with a message on ${suspect.topic} in flight (${times}): a broker policy refusing that topic? It is given up after ${ISOLATE_AFTER + 1}`;
  }
}
