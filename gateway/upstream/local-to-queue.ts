// Local -> upstream: local publishes selected by an `out` mapping are appended to the durable queue (the sender
// takes them from there). Messages the bridge itself published locally from upstream, the link's own events and
// the link state topic are never queued, so nothing loops back. Nor is a topic the upstream would close the
// connection on (U+0000, control characters...: topic-validity.ts), whoever published it locally.
import { upstreamTopicProblem } from '../broker/topic-validity.js';
import type { BrokerMessage } from '../broker/types.js';
import type { UpstreamConfig } from './config.js';
import type { OwnReports } from './own-reports.js';
import type { AppendResult, DiskQueue } from './queue/disk-queue.js';
import { type ResolvedMapping, type Route, routeIn, routeOut } from './topic-map.js';

const ROUTE_CACHE_MAX = 4096;
/** Bytes a queue record takes beyond its topic and payload (header, lengths, checksum), rounded up. */
const REPLAY_RECORD_OVERHEAD = 64;

/** A local topic selected for upstream whose upstream topic the upstream would refuse. */
interface Refused {
  refused: string;
}

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
  /** A message was not queued because the upstream would refuse its topic (`reason`): count and log it. */
  refusedTopic?(topic: string, reason: string, own: boolean): void;
}

export class LocalToQueue {
  /** routeOut per local topic (devices publish on the same few topics over and over). */
  readonly #routes = new Map<string, Route | Refused | null>();

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
      route = this.#route(msg.topic);
      if (this.#routes.size >= ROUTE_CACHE_MAX) this.#routes.clear();
      this.#routes.set(msg.topic, route);
    }
    if (!route) {
      done();
      return;
    }
    if ('refused' in route) {
      // The local publish goes on: only the upstream copy is refused.
      deps.refusedTopic?.(msg.topic, route.refused, deps.own.isOwn(msg.topic));
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

  /**
   * Queues the local retained messages an `out` mapping selects, as retained, for an upstream that may not have
   * them (a new or switched broker, or retained updates dropped while it was away): what a Mosquitto bridge gets by
   * subscribing on connect. Not the gateway's own reports (they are published again anyway), nor a topic an `in`
   * mapping takes too (it may have come from upstream: sent back, it would echo). Nothing when they would take the
   * queue past half its max_bytes: queued messages of devices must never be dropped to make room for copies.
   */
  replayRetained(messages: Iterable<BrokerMessage>): { queued: number } | { skipped: number } {
    const { deps } = this;
    const queue = deps.queue();
    if (!queue || deps.config().retain === 'strip') return { queued: 0 };
    const replay: Array<{ route: Route; payload: Buffer }> = [];
    let bytes = 0;
    for (const msg of messages) {
      if (deps.own.isOwn(msg.topic) || deps.own.isLinkEvent(msg.topic, msg.payload)) continue;
      const route = this.#route(msg.topic);
      if (!route || 'refused' in route || routeIn(deps.mappings(), route.topic)) continue;
      replay.push({ route, payload: msg.payload });
      bytes += REPLAY_RECORD_OVERHEAD + Buffer.byteLength(route.topic) + msg.payload.length;
    }
    if (queue.stats().bytes + bytes > deps.config().queue.max_bytes / 2) return { skipped: replay.length };
    for (const { route, payload } of replay) queue.appendThen(route.topic, payload, route.qos, true, () => {});
    return { queued: replay.length };
  }

  /** Where a local topic goes upstream: nowhere (null), or nowhere because the upstream would refuse it. */
  #route(topic: string): Route | Refused | null {
    const { deps } = this;
    const route = routeOut(deps.mappings(), topic);
    if (!route || route.topic === deps.stateTopic()) return null; // the LWT topic belongs to the link itself
    if (!deps.config().bridge_topics && deps.own.isBridgeTopic(topic)) return null;
    if (deps.own.isLocalOnly(topic)) return null;
    const problem = upstreamTopicProblem(route.topic);
    return problem ? { refused: `upstream topic ${JSON.stringify(route.topic)} ${problem}` } : route;
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
