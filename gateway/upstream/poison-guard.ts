// A message the upstream answers by closing the connection would be sent again on every reconnect and hold the
// queue for good: MQTT 3.1.1 has no way to refuse a publish, so brokers that enforce a policy (AWS IoT Core for a
// topic its policy denies, aedes when authorizePublish fails) drop the connection instead. This watches for it:
// when ISOLATE_AFTER connections running close within WINDOW_MS of their first publish without a single
// acknowledgement, all starting with the same message, that message is sent alone; if the upstream closes the
// connection on it once more, the bridge gives it up (dropped as `rejected`, reported). A flaky network does not
// match the pattern for long: one acknowledged message on any connection clears the suspicion. The verdict names
// the message's topic: the bridge gives up later messages on that topic at once (refused-topics.ts).
export const ISOLATE_AFTER = 3;
const WINDOW_MS = 10_000;

interface ConnectionRecord {
  firstSeq: number;
  firstTopic: string | undefined;
  firstBytes: number;
  firstSentAt: number;
  sent: number;
  acked: number;
}

const fresh = (): ConnectionRecord => ({
  firstSeq: -1,
  firstTopic: undefined,
  firstBytes: 0,
  firstSentAt: 0,
  sent: 0,
  acked: 0,
});

export interface PoisonVerdict {
  /** The queue sequence number to give up on. */
  seq: number;
  /** Connections the upstream closed on it. */
  strikes: number;
  /** Its upstream topic (when the sender said). */
  topic: string | undefined;
  /** Its payload size. */
  bytes: number;
}

export class PoisonGuard {
  #conn = fresh();
  #suspect: { seq: number; strikes: number; topic: string | undefined; bytes: number } | undefined;
  #lastCloseStruck = false;

  constructor(private readonly now: () => number = () => performance.now()) {}

  connectionStarted(): void {
    this.#conn = fresh();
  }

  /** `topicOf` is called for the first message of a connection only (the hot path decodes no topic). */
  sent(seq: number, topicOf?: () => string, bytes = 0): void {
    const c = this.#conn;
    if (c.firstSeq < 0) {
      c.firstSeq = seq;
      c.firstTopic = topicOf?.();
      c.firstBytes = bytes;
      c.firstSentAt = this.now();
    }
    c.sent++;
  }

  /** The upstream answered a publish (acknowledged or refused with a reason code). */
  answered(): void {
    this.#conn.acked++;
    this.#suspect = undefined;
  }

  /** How many messages may be in flight: 1 while a suspect is being tried alone. */
  maxInflight(): number {
    const isolating = this.#suspect !== undefined && this.#suspect.strikes >= ISOLATE_AFTER && this.#conn.acked === 0;
    return isolating ? 1 : Number.POSITIVE_INFINITY;
  }

  /** The message suspected of making the upstream close the last connection, and how many times it did so far
   * (undefined when that close did not count against it). */
  suspect(): { topic: string | undefined; strikes: number } | undefined {
    const s = this.#suspect;
    return s && this.#lastCloseStruck ? { topic: s.topic, strikes: s.strikes } : undefined;
  }

  /** The upstream closed the connection; returns the message to give up on, if there is one. */
  connectionClosed(): PoisonVerdict | undefined {
    const c = this.#conn;
    this.#conn = fresh();
    this.#lastCloseStruck = !(c.sent === 0 || c.acked > 0 || this.now() - c.firstSentAt > WINDOW_MS);
    if (!this.#lastCloseStruck) return undefined;
    let suspect = this.#suspect;
    if (suspect?.seq !== c.firstSeq) {
      suspect = { seq: c.firstSeq, strikes: 0, topic: c.firstTopic, bytes: c.firstBytes };
      this.#suspect = suspect;
    }
    suspect.strikes++;
    if (suspect.strikes > ISOLATE_AFTER && c.sent === 1) {
      this.#suspect = undefined;
      return { seq: suspect.seq, strikes: suspect.strikes, topic: suspect.topic, bytes: suspect.bytes };
    }
    return undefined;
  }
}
