// A resumed persistent session gets its stored messages first, then those published while they went out
// [MQTT-4.6.0-6].
//
// aedes restores a session's subscriptions before it streams the stored queue (restoreSubs, then emptyQueue, in
// lib/handlers/connect.js), so a message published meanwhile was written between the stored ones on the same topic:
// `59 120 121 … 136 60 61 137`. Here deliveries to a connection are held, in order, until aedes says it is
// connected (after the stored queue went out), then handed on; one the stored queue already carried (it was queued
// before the stream was read) is not sent twice, also when its delivery comes after the release.
//
// Holding loses nothing: aedes queues a QoS 1/2 message for a persistent session before it delivers it, so if the
// connection drops first, the next resume sends it. The held deliveries are bounded. QoS 1/2: at most twice `limit`
// (broker.max_queued). The queue holds at most `limit`, and it can free at most `limit` more places while it is sent
// (the stored messages acknowledged meanwhile), so more could not have been queued: those are not kept, and the session
// misses them as an offline one would. QoS 0: at most `limit`, past which the newest are dropped (at most once) and
// reported.
import type { AedesPublishPacket, Client } from 'aedes';

type Deliver = (packet: AedesPublishPacket, cb: () => void) => void;

interface Identified {
  brokerId?: string;
  brokerCounter?: number;
}

interface Held {
  deliver: Deliver;
  packet: AedesPublishPacket;
}

/** How long after a resume a live delivery of a message the stored queue carried is still recognised as one. */
const RESENT_LINGER_MS = 30_000;

/** The stored queue being sent to each connection that is still held, set when aedes reads it. */
const resending = new WeakMap<object, readonly Identified[]>();

/** Called with the stored queue aedes is about to send to a resuming connection (before it sends any of it). */
export function noteResending(client: object, queued: readonly Identified[]): void {
  resending.set(client, queued);
}

function keyOf(packet: Identified): string | undefined {
  return packet.brokerId === undefined || packet.brokerCounter === undefined
    ? undefined
    : `${packet.brokerId}:${packet.brokerCounter}`;
}

/**
 * Holds `client`'s deliveries until it is connected. Must wrap the delivery functions before the client subscribes
 * (aedes captures them when it restores the session's subscriptions), and outside the other wrappers, so a held
 * delivery goes through them when it is let go.
 */
export function holdUntilConnected(
  client: Client,
  limit: number,
  onDropped: (packet: AedesPublishPacket) => void,
  lingerMs = RESENT_LINGER_MS,
): void {
  const target = client as unknown as { deliver0: Deliver; deliverQoS: Deliver };
  const held: Held[] = [];
  let heldQueued = 0;
  let heldQos0 = 0;
  let released = false;
  /** After the release: the stored messages just sent, which a late live delivery must not send again. */
  let resent: Set<string> | undefined;

  const alreadySent = (packet: AedesPublishPacket): boolean => {
    const key = resent && keyOf(packet as Identified);
    return key !== undefined && (resent?.has(key) ?? false);
  };
  const hold =
    (deliver: Deliver, queued: boolean): Deliver =>
    (packet, cb) => {
      if (released) {
        if (resent === undefined || !alreadySent(packet)) return deliver(packet, cb);
        setImmediate(cb);
        return;
      }
      const isQueued = queued && packet.qos > 0;
      if (isQueued ? heldQueued < 2 * limit : heldQos0 < limit) {
        held.push({ deliver, packet });
        if (isQueued) heldQueued++;
        else heldQos0++;
      } else if (!isQueued) {
        onDropped(packet);
      }
      setImmediate(cb);
    };
  const deliver0 = target.deliver0;
  const deliverQoS = target.deliverQoS;
  target.deliver0 = hold(deliver0, false);
  target.deliverQoS = hold(deliverQoS, true);

  client.once('connected', () => {
    released = true;
    const sent = resending.get(client);
    resending.delete(client);
    if (sent !== undefined && sent.length > 0) {
      resent = new Set();
      for (const packet of sent) {
        const key = keyOf(packet);
        if (key !== undefined) resent.add(key);
      }
      // A message queued before the stored queue was read may reach this client's delivery only now, when the
      // broker's routing queue is behind: sent again with a new packet id, a QoS 2 one would be delivered twice.
      setTimeout(() => {
        resent = undefined;
      }, lingerMs).unref();
    }
    for (const { deliver, packet } of held.splice(0)) if (!alreadySent(packet)) deliver(packet, () => {});
  });
}
