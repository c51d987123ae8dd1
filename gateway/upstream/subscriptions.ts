// The upstream subscriptions of the `in` and `both` mappings, and subscribing to them on a connection (with No
// Local on MQTT 5). A filter stays in the connection's `subscribing` until its SUBACK, so a close before the
// answer is blamed on the subscription (close-blame.ts).
//
// A SUBSCRIBE makes the broker send the filter's retained messages, and a retained command would be executed
// again on every reconnect. MQTT 5 subscribes with Retain Handling 1 (only for a subscription that is new); MQTT
// 3.1.1 has no such option, so on a connection whose session the upstream kept, a filter granted earlier in that
// session is not subscribed again.
import type { MqttClient } from 'mqtt';
import type { ConnectionRecord } from './connection-record.js';
import { upstreamKeptSession } from './pubrec-handover.js';
import type { ResolvedMapping } from './topic-map.js';

/**
 * MQTT 5 subscription options: No Local (our own publishes do not come back), Retain Handling 1 (see above), and
 * Retain As Published: a broker clears the retain flag of what it forwards live otherwise, so a retained message
 * the cloud publishes (or clears) while the link is up would not replace the one the local broker retained at
 * subscription time, and local subscribers would get a stale one (as a Mosquitto bridge does, MQTT 5).
 */
const V5_OPTIONS = { nl: true, rh: 1, rap: true } as const;

/** The upstream filters the `in` and `both` mappings subscribe to, with their QoS. */
export function subscriptions(mappings: ResolvedMapping[]): Map<string, 0 | 1 | 2> {
  const filters = new Map<string, 0 | 1 | 2>();
  for (const m of mappings)
    if (m.direction !== 'out' && !filters.has(m.remoteFilter)) filters.set(m.remoteFilter, m.qos);
  return filters;
}

/** The filters the upstream granted in one session (broker and client id), with the QoS asked for. */
interface SessionFilters {
  session: string;
  /** The connection these filters were last checked against its CONNACK for. */
  client: MqttClient | undefined;
  resumed: boolean;
  granted: Map<string, 0 | 1 | 2>;
  /** Each filter's SUBSCRIBE waiting for its SUBACK: an UNSUBSCRIBE sent meanwhile makes the SUBACK stale. */
  asked: Map<string, object>;
}

/** Per bridge, across its connections: keyed by the outgoing store, the one object every client of a bridge shares
 * (upstream-link.ts). */
const sessions = new WeakMap<object, SessionFilters>();

/** The session `client` connected to, as far as its granted filters are concerned. */
function sessionFilters(client: MqttClient): SessionFilters {
  const { outgoingStore, protocol, hostname, host, port, clientId } = client.options;
  const owner: object = outgoingStore ?? client;
  let filters = sessions.get(owner);
  if (!filters) {
    filters = { session: '', client: undefined, resumed: false, granted: new Map(), asked: new Map() };
    sessions.set(owner, filters);
  }
  if (filters.client !== client) {
    const session = `${protocol}://${hostname ?? host}:${port} ${clientId}`;
    filters.client = client;
    filters.resumed = upstreamKeptSession(client) && filters.session === session;
    filters.session = session;
    if (!filters.resumed) filters.granted.clear();
    filters.asked.clear();
    const { granted, asked } = filters;
    client.on('packetsend', (packet) => {
      if (packet.cmd !== 'unsubscribe') return;
      for (const filter of packet.unsubscriptions) {
        granted.delete(filter);
        asked.delete(filter);
      }
    });
  }
  return filters;
}

export function subscribe(
  client: MqttClient,
  filters: Iterable<[string, 0 | 1 | 2]>,
  conn: ConnectionRecord,
  v5: boolean,
  setError: (error: string) => void,
): void {
  const session = sessionFilters(client);
  for (const [filter, qos] of filters) {
    if (!v5 && session.resumed && session.granted.get(filter) === qos) continue;
    conn.subscribing.add(filter);
    const request = {};
    session.asked.set(filter, request);
    client.subscribe(filter, { qos, ...(v5 ? V5_OPTIONS : {}) }, (err) => {
      // A connection that closed before the SUBACK subscribes again on the next one: that is no refusal.
      if (err && typeof (err as { code?: unknown }).code !== 'number') return;
      conn.subscribing.delete(filter);
      if (session.asked.get(filter) === request) {
        session.asked.delete(filter);
        if (err) session.granted.delete(filter);
        else session.granted.set(filter, qos);
      }
      if (err) setError(`upstream refused the subscription to ${filter}: ${err.message}`);
    });
  }
}
