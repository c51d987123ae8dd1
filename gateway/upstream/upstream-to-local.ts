// Upstream -> local: messages from upstream selected by an `in` mapping are published on the local broker. Their
// payload Buffers are remembered so the interceptor (local-to-queue.ts) never sends them back; on MQTT 3.1.1 the
// copies of the bridge's own publishes that come back are dropped (echo-filter.ts).
import type { EmbeddedBroker } from '../broker/types.js';
import type { Logger } from '../logger.js';
import type { BridgeReport } from './bridge-report.js';
import type { EchoFilter } from './echo-filter.js';
import { type ResolvedMapping, routeIn } from './topic-map.js';

export interface UpstreamToLocalDeps {
  broker: EmbeddedBroker;
  logger: Logger;
  report: BridgeReport;
  echoes: EchoFilter;
  mappings(): ResolvedMapping[];
  stateTopic(): string;
}

export class UpstreamToLocal {
  readonly #inbound = new WeakSet<Buffer>();

  constructor(private readonly deps: UpstreamToLocalDeps) {}

  /** The payload was published locally by the bridge. */
  published(payload: Buffer): boolean {
    return this.#inbound.has(payload);
  }

  async onMessage(topic: string, payload: Buffer, retain: boolean, qos: 0 | 1 | 2): Promise<void> {
    const { deps } = this;
    const route = routeIn(deps.mappings(), topic);
    if (!route || topic === deps.stateTopic()) return;
    if (deps.echoes.isEcho(topic, payload)) {
      deps.report.counts.echoes++;
      return;
    }
    const buf = Buffer.from(payload);
    this.#inbound.add(buf);
    deps.report.counts.received++;
    deps.report.metrics.received.inc();
    try {
      await deps.broker.publish(route.topic, buf, { qos: Math.min(qos, route.qos) as 0 | 1 | 2, retain });
    } catch (err) {
      deps.logger.warn({ err, topic: route.topic }, 'could not publish an upstream message locally');
    }
  }
}
