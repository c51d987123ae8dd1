// Local -> upstream: local publishes selected by an `out` mapping are appended to the durable queue (the sender
// takes them from there). Messages the bridge itself published locally from upstream, the link's own events and
// the link state topic are never queued, so nothing loops back.
import type { BrokerMessage } from '../broker/types.js';
import type { UpstreamConfig } from './config.js';
import type { OwnReports } from './own-reports.js';
import type { AppendResult, DiskQueue } from './queue/disk-queue.js';
import { type ResolvedMapping, type Route, routeOut } from './topic-map.js';

const ROUTE_CACHE_MAX = 4096;

export interface LocalToQueueDeps {
  own: OwnReports;
  /** The payload was published locally by the bridge, from upstream. */
  fromUpstream(payload: Buffer): boolean;
  config(): UpstreamConfig;
  mappings(): ResolvedMapping[];
  stateTopic(): string;
  queue(): DiskQueue | undefined;
  /** Settles once the queue opened (or could not be opened). */
  queueOpening(): Promise<void>;
  /** Messages the queue refused were the gateway's own reports (drop-report.ts). */
  markOwnDropped(count: number): void;
}

export class LocalToQueue {
  /** routeOut per local topic (devices publish on the same few topics over and over). */
  readonly #routes = new Map<string, Route | null>();

  constructor(private readonly deps: LocalToQueueDeps) {}

  /** The mappings changed. */
  remapped(): void {
    this.#routes.clear();
  }

  /** The broker interceptor: `done` lets the local publish go on. */
  intercept(msg: BrokerMessage, done: (err?: Error) => void): void {
    const { deps } = this;
    // Came from upstream: never send it back.
    if (deps.fromUpstream(msg.payload) || deps.own.isLinkEvent(msg.topic, msg.payload)) {
      done();
      return;
    }
    let route = this.#routes.get(msg.topic);
    if (route === undefined) {
      route = routeOut(deps.mappings(), msg.topic) ?? null;
      if (route?.topic === deps.stateTopic()) route = null; // the LWT topic belongs to the link itself
      if (!deps.config().bridge_topics && deps.own.isBridgeTopic(msg.topic)) route = null;
      if (this.#routes.size >= ROUTE_CACHE_MAX) this.#routes.clear();
      this.#routes.set(msg.topic, route);
    }
    if (!route) {
      done();
      return;
    }
    const queue = deps.queue();
    if (queue) {
      // Whether queued or refused (full, disk full: counted and reported by the queue), the publish goes on.
      const appended = deps.own.isOwn(msg.topic) ? this.#ownAppended(done) : () => done();
      queue.appendThen(route.topic, msg.payload, route.qos, msg.retain, appended);
      return;
    }
    // Publishes that arrive while the queue opens wait for it (and pass if it could not be opened).
    deps.queueOpening().then(() => {
      if (!deps.queue()) {
        done();
        return;
      }
      try {
        this.intercept(msg, done);
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** The queue refuses a message after counting the drop (same tick): for an own report, the drop report learns
   * it was one. */
  #ownAppended(done: () => void): (result: AppendResult) => void {
    return (result) => {
      if (result === 'dropped') this.deps.markOwnDropped(1);
      done();
    };
  }
}
