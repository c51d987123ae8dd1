// Recognises the gateway's own reports (<base>/bridge/event, <base>/bridge/info, <base>/bridge/logging) when they are queued and, by
// their upstream topic, when the sender hands them out, so that their drops are not reported (drop-report.ts).
import { topics } from '../api/topics.js';
import type { RecordView } from './queue/record.js';
import { type ResolvedMapping, routeOut } from './topic-map.js';

/** `upstream` events about the link itself: they describe the connection they would be sent over. */
const LINK_EVENTS = new Set(['connected', 'disconnected']);

export class OwnReports {
  readonly #local: ReadonlySet<string>;
  readonly #eventTopic: string;
  readonly #bridgePrefix: string;
  readonly #backupResponse: string;
  #remote: Buffer[] = [];
  /** Queue sequence numbers of own reports handed out and not yet settled (few: reports are rare). */
  readonly #sent = new Set<number>();

  constructor(baseTopic: string, mappings: ResolvedMapping[]) {
    this.#eventTopic = topics.bridgeEvent(baseTopic);
    this.#bridgePrefix = `${baseTopic}/bridge/`;
    this.#backupResponse = topics.bridgeResponse(baseTopic, 'backup');
    // bridge/logging too: a drop report logs a warning, which bridge/logging publishes and the queue would drop.
    this.#local = new Set([this.#eventTopic, topics.bridgeInfo(baseTopic), topics.bridgeLogging(baseTopic)]);
    this.remap(mappings);
  }

  /** The upstream topics they go to (the mappings changed). */
  remap(mappings: ResolvedMapping[]): void {
    this.#remote = [];
    for (const local of this.#local) {
      const remote = routeOut(mappings, local)?.topic;
      if (remote !== undefined) this.#remote.push(Buffer.from(remote));
    }
  }

  /** Any of the gateway's own <base>/bridge/* topics (bridge.bridge_topics: false keeps them local). */
  isBridgeTopic(localTopic: string): boolean {
    return localTopic.startsWith(this.#bridgePrefix);
  }

  /** Never sent upstream, whatever the mappings: the answer to bridge/request/backup holds the config file's
   * secrets (password hashes, bind keys, tokens, the upstream's own credentials) and every retained message. */
  isLocalOnly(localTopic: string): boolean {
    return localTopic === this.#backupResponse;
  }

  isOwn(localTopic: string): boolean {
    return this.#local.has(localTopic);
  }

  /** The bridge's own link events (`upstream` connected / disconnected on bridge/event) stay local: each
   * reconnect would queue two more, which a broker refusing bridge/event turns into a new reconnect. The link
   * state topic tells the upstream side the same. */
  isLinkEvent(localTopic: string, payload: Buffer): boolean {
    if (localTopic !== this.#eventTopic) return false;
    try {
      const event = JSON.parse(payload.toString('utf8')) as { type?: unknown; data?: { event?: unknown } };
      return event.type === 'upstream' && LINK_EVENTS.has(String(event.data?.event));
    } catch {
      return false;
    }
  }

  /** A record is handed to the upstream: remembered when it is an own report (cheap for any other topic). */
  sent(view: RecordView, seq: number): boolean {
    const len = view.topicEnd - view.topicStart;
    for (const topic of this.#remote) {
      if (topic.length === len && view.buf.compare(topic, 0, len, view.topicStart, view.topicEnd) === 0) {
        this.#sent.add(seq);
        return true;
      }
    }
    return false;
  }

  /** The record is done with (acknowledged, refused or given up): whether it was an own report. */
  settled(seq: number): boolean {
    return this.#sent.size > 0 && this.#sent.delete(seq);
  }

  /** A new connection hands everything unacknowledged out again. */
  connectionStarted(): void {
    this.#sent.clear();
  }
}
