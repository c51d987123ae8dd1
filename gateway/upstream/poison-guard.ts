// A message the upstream answers by closing the connection would be sent again on every reconnect and hold the
// queue for good: MQTT 3.1.1 has no way to refuse a publish, so brokers that enforce a policy (AWS IoT Core for a
// topic its policy denies, aedes when authorizePublish fails) drop the connection instead. This watches for it:
// when ISOLATE_AFTER connections running close within WINDOW_MS of their first publish without a single
// acknowledgement, all starting with the same message, that message is sent alone; if the upstream closes the
// connection on it once more, the bridge gives it up (dropped as `rejected`, reported). A flaky network does not
// match the pattern for long: one acknowledged message on any connection clears the suspicion.
const ISOLATE_AFTER = 3;
const WINDOW_MS = 10_000;

interface ConnectionRecord {
  firstSeq: number;
  firstSentAt: number;
  sent: number;
  acked: number;
}

const fresh = (): ConnectionRecord => ({ firstSeq: -1, firstSentAt: 0, sent: 0, acked: 0 });

export interface PoisonVerdict {
  /** The queue sequence number to give up on. */
  seq: number;
  /** Connections the upstream closed on it. */
  strikes: number;
}

export class PoisonGuard {
  #conn = fresh();
  #suspect: { seq: number; strikes: number } | undefined;

  constructor(private readonly now: () => number = () => performance.now()) {}

  connectionStarted(): void {
    this.#conn = fresh();
  }

  sent(seq: number): void {
    const c = this.#conn;
    if (c.firstSeq < 0) {
      c.firstSeq = seq;
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

  /** The upstream closed the connection; returns the message to give up on, if there is one. */
  connectionClosed(): PoisonVerdict | undefined {
    const c = this.#conn;
    this.#conn = fresh();
    if (c.sent === 0 || c.acked > 0 || this.now() - c.firstSentAt > WINDOW_MS) return undefined;
    let suspect = this.#suspect;
    if (suspect?.seq !== c.firstSeq) {
      suspect = { seq: c.firstSeq, strikes: 0 };
      this.#suspect = suspect;
    }
    suspect.strikes++;
    if (suspect.strikes > ISOLATE_AFTER && c.sent === 1) {
      this.#suspect = undefined;
      return { seq: suspect.seq, strikes: suspect.strikes };
    }
    return undefined;
  }
}
