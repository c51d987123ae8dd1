// Prometheus metrics of the upstream bridge, registered on the gateway's registry.
import { Counter, Gauge, type Registry } from '../prometheus.js';
import type { DropReason, QueueStats } from './queue/disk-queue.js';

export interface UpstreamMetrics {
  sent: Counter;
  acked: Counter;
  resent: Counter;
  received: Counter;
  dropped: Counter<'reason'>;
  reconnects: Counter;
  /** The bridge stopped: its gauges leave /metrics, its counters stay (a counter must never go back). */
  hideGauges(): void;
  /** The bridge started (again): its gauges are back. */
  showGauges(): void;
}

export function createUpstreamMetrics(
  registry: Registry,
  read: () => { connected: boolean; queue: QueueStats | undefined },
): UpstreamMetrics {
  const reg = <T>(name: string, make: () => T): T => {
    registry.removeSingleMetric(name); // a new bridge on the same registry replaces its metrics instead of failing
    return make();
  };
  const registers = [registry];
  const gauges = new Map<string, Gauge>();
  const gauge = (name: string, help: string, value: () => number) =>
    gauges.set(
      name,
      reg(
        name,
        () =>
          new Gauge({
            name,
            help,
            registers,
            collect() {
              this.set(value());
            },
          }),
      ),
    );
  const counter = (name: string, help: string) => reg(name, () => new Counter({ name, help, registers }));

  gauge('zephyr2mqtt_upstream_connected', '1 while connected to the upstream broker', () => (read().connected ? 1 : 0));
  gauge('zephyr2mqtt_upstream_queue_depth', 'Messages queued for upstream, not yet acknowledged', () => {
    return read().queue?.depth ?? 0;
  });
  gauge('zephyr2mqtt_upstream_queue_bytes', 'Bytes of the store-and-forward queue on disk', () => {
    return read().queue?.bytes ?? 0;
  });
  gauge('zephyr2mqtt_upstream_queue_oldest_age_seconds', 'Age of the oldest unacknowledged message', () => {
    const ts = read().queue?.oldestTs;
    return ts === undefined ? 0 : Math.max(0, (Date.now() - ts) / 1000);
  });
  gauge('zephyr2mqtt_upstream_queue_disk_full', '1 while the queue cannot write (disk full)', () =>
    read().queue?.diskFull ? 1 : 0,
  );
  const dropped = reg(
    'zephyr2mqtt_upstream_messages_dropped_total',
    () =>
      new Counter<'reason'>({
        name: 'zephyr2mqtt_upstream_messages_dropped_total',
        help: 'Messages dropped before the upstream acknowledged them, per reason',
        labelNames: ['reason'],
        registers,
      }),
  );
  for (const reason of ['queue_full', 'max_age', 'disk_full', 'corrupt', 'rejected'] satisfies DropReason[])
    dropped.inc({ reason }, 0);
  return {
    sent: counter('zephyr2mqtt_upstream_messages_sent_total', 'Messages published to the upstream broker'),
    acked: counter('zephyr2mqtt_upstream_messages_acked_total', 'Messages acknowledged by upstream (QoS 0: written)'),
    resent: counter('zephyr2mqtt_upstream_messages_resent_total', 'Messages sent again after a connection loss'),
    received: counter('zephyr2mqtt_upstream_messages_received_total', 'Messages from upstream delivered locally'),
    dropped,
    reconnects: counter(
      'zephyr2mqtt_upstream_reconnects_total',
      'Connections to upstream after the first one since the bridge started',
    ),
    hideGauges() {
      for (const name of gauges.keys()) registry.removeSingleMetric(name);
    },
    showGauges() {
      for (const [name, g] of gauges) if (registry.getSingleMetric(name) !== g) registry.registerMetric(g);
    },
  };
}
