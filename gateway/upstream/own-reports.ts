// Recognises the gateway's own reports (<base>/bridge/event, <base>/bridge/info) when they are queued and, by
// their upstream topic, when the sender hands them out, so that their drops are not reported (drop-report.ts).
import { topics } from '../api/topics.js';
import type { RecordView } from './queue/record.js';
import { type ResolvedMapping, routeOut } from './topic-map.js';

export class OwnReports {
  readonly #local: ReadonlySet<string>;
  #remote: Buffer[] = [];
  /** Queue sequence numbers of own reports handed out and not yet settled (few: reports are rare). */
  readonly #sent = new Set<number>();

  constructor(baseTopic: string, mappings: ResolvedMapping[]) {
    this.#local = new Set([topics.bridgeEvent(baseTopic), topics.bridgeInfo(baseTopic)]);
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

  isOwn(localTopic: string): boolean {
    return this.#local.has(localTopic);
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
