// The upstream subscriptions of the `in` and `both` mappings, and subscribing to them on a connection (with No
// Local on MQTT 5). A filter stays in the connection's `subscribing` until its SUBACK, so a close before the
// answer is blamed on the subscription (close-blame.ts).
import type { MqttClient } from 'mqtt';
import type { ConnectionRecord } from './connection-record.js';
import type { ResolvedMapping } from './topic-map.js';

/** The upstream filters the `in` and `both` mappings subscribe to, with their QoS. */
export function subscriptions(mappings: ResolvedMapping[]): Map<string, 0 | 1 | 2> {
  const filters = new Map<string, 0 | 1 | 2>();
  for (const m of mappings)
    if (m.direction !== 'out' && !filters.has(m.remoteFilter)) filters.set(m.remoteFilter, m.qos);
  return filters;
}

export function subscribe(
  client: MqttClient,
  filters: Iterable<[string, 0 | 1 | 2]>,
  conn: ConnectionRecord,
  v5: boolean,
  setError: (error: string) => void,
): void {
  for (const [filter, qos] of filters) {
    conn.subscribing.add(filter);
    client.subscribe(filter, { qos, ...(v5 ? { nl: true } : {}) }, (err) => {
      // A connection that closed before the SUBACK subscribes again on the next one: that is no refusal.
      if (err && typeof (err as { code?: unknown }).code !== 'number') return;
      conn.subscribing.delete(filter);
      if (err) setError(`upstream refused the subscription to ${filter}: ${err.message}`);
    });
  }
}
