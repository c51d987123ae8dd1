// Delivery-time fixes for MQTT 3.1.1 conformance that aedes gets wrong, applied in authorizeForward.
import type { AedesPublishPacket, Client } from 'aedes';
import { filterMatchesTopic } from './topic-filter.js';

interface ClientSubscriptions {
  subscriptions: Record<string, { qos: number } | undefined>;
}

/**
 * The QoS a client is owed for `packet` [MQTT-3.8.4-6]: the minimum of the published QoS and the highest QoS
 * granted among its matching subscriptions. aedes looks the subscription up by the topic *name*, so a
 * wildcard subscription granted QoS 1 would receive QoS 2 publishes at QoS 2.
 */
export function grantedQos(client: Client, packet: AedesPublishPacket): number {
  const subs = (client as unknown as ClientSubscriptions).subscriptions;
  if (packet.qos === 0) return 0;
  const exact = subs[packet.topic];
  if (exact && exact.qos >= packet.qos) return packet.qos;
  let best = -1;
  for (const filter in subs) {
    const sub = subs[filter];
    if (sub && sub.qos > best && filterMatchesTopic(filter, packet.topic)) best = sub.qos;
    if (best >= packet.qos) return packet.qos;
  }
  return best < 0 ? packet.qos : best;
}

/** The packet to deliver to `client`, downgraded when its subscriptions were granted a lower QoS. */
export function forwardPacket(client: Client, packet: AedesPublishPacket): AedesPublishPacket {
  const qos = grantedQos(client, packet);
  if (qos === packet.qos) return packet;
  // Shared between subscribers: copy, never mutate. aedes copies brokerId/brokerCounter from it.
  return Object.assign(Object.create(Object.getPrototypeOf(packet)), packet, { qos }) as AedesPublishPacket;
}

/**
 * A stored message as a resumed session is owed it: at most the QoS granted now [MQTT-3.8.4-6]. aedes sends a
 * session's queue without the downgrade its live path makes, so a QoS 1 subscriber got what was published at QoS 2
 * while it was away at QoS 2. Never below QoS 1: a queued message stays queued until it is acknowledged.
 */
export function withGrantedQos<P extends { cmd: string; qos?: number; topic?: string }>(client: Client, packet: P): P {
  const qos = packet.qos ?? 0;
  if (packet.cmd !== 'publish' || qos < 2) return packet;
  const granted = Math.max(1, grantedQos(client, packet as unknown as AedesPublishPacket));
  return granted < qos ? { ...packet, qos: granted } : packet;
}

type Deliver = (packet: AedesPublishPacket, cb: () => void) => void;

/**
 * aedes delivers a message once per client (it dedupes overlapping subscriptions) through whichever matching
 * subscription fires first, so a QoS 0 subscription could win over a QoS 2 one. Make the QoS 0 path step aside
 * when a higher-QoS subscription also matches, so the copy that is sent carries the maximum QoS [MQTT-3.3.5-1].
 * Must run before the client subscribes: aedes captures `deliver0` when a subscription is added.
 */
export function preferHighestQos(client: Client): void {
  const target = client as unknown as { deliver0: Deliver };
  const deliver0 = target.deliver0;
  target.deliver0 = (packet, cb) => {
    if (packet.qos > 0 && grantedQos(client, packet) > 0) {
      setImmediate(cb);
      return;
    }
    deliver0(packet, cb);
  };
}

const DEDUPE_WINDOW = 1024;

/**
 * aedes drops a message for a client when its broker counter is not above the last one it delivered there
 * (`dedupe` in lib/client.js), to deliver one copy for overlapping subscriptions. But QoS 1/2 messages are
 * stored before they are routed, so a QoS 0 message published just after can overtake one and the QoS 1
 * message is then silently lost for that client. Remember the exact packets delivered instead (a bounded
 * window per connection) and keep aedes' counter from rejecting reordered ones.
 * Must run before the client subscribes, like preferHighestQos.
 */
export function exactDedupe(client: Client): void {
  const target = client as unknown as { deliver0: Deliver; deliverQoS: Deliver; duplicates: Record<string, number> };
  // Counters seen per broker id (numbers, not a "<id>:<counter>" string built and hashed per delivery), and the
  // window's insertion order in two parallel arrays.
  const seen = new Map<string, Set<number>>();
  const orderIds: string[] = [];
  const orderCounters: number[] = [];
  const firstDelivery = (packet: AedesPublishPacket): boolean => {
    const { brokerId, brokerCounter } = packet as AedesPublishPacket & { brokerId?: string; brokerCounter?: number };
    if (!brokerId || brokerCounter === undefined) return true;
    let counters = seen.get(brokerId);
    if (!counters) {
      counters = new Set();
      seen.set(brokerId, counters);
    }
    if (counters.has(brokerCounter)) return false;
    counters.add(brokerCounter);
    orderIds.push(brokerId);
    orderCounters.push(brokerCounter);
    if (orderIds.length > DEDUPE_WINDOW) {
      const oldId = orderIds.shift() as string;
      const oldCounter = orderCounters.shift() as number;
      const oldCounters = seen.get(oldId);
      if (oldCounters) {
        oldCounters.delete(oldCounter);
        if (oldCounters.size === 0) seen.delete(oldId);
      }
    }
    // Let aedes' monotonic check pass: the exact check above already removed duplicates.
    target.duplicates[brokerId] = 0;
    return true;
  };
  const deliver0 = target.deliver0;
  const deliverQoS = target.deliverQoS;
  target.deliver0 = (packet, cb) => {
    if (!firstDelivery(packet)) {
      setImmediate(cb);
      return;
    }
    deliver0(packet, cb);
  };
  target.deliverQoS = (packet, cb) => {
    // aedes hands QoS 0 packets on to deliver0 (wrapped above), which does the bookkeeping.
    if (packet.qos === 0) {
      deliverQoS(packet, cb);
      return;
    }
    if (!firstDelivery(packet)) {
      setImmediate(cb);
      return;
    }
    deliverQoS(packet, cb);
  };
}
