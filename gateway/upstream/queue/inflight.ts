// The records handed out and not yet acknowledged, in hand-out (= sequence) order, without an object per
// record: parallel typed arrays used as a ring. Acknowledgements may come in any order; the oldest
// unacknowledged record (the queue's cursor) is always at the head.
//
// Each record also keeps the packet id it was last sent with. A rewind (the connection was lost) keeps what the
// window knew for the reader's second pass: a record acknowledged meanwhile is not sent again, and one still
// unacknowledged is sent again as a re-delivery, under its old packet id if the upstream kept the session
// (MQTT-4.4.0-1). A connection whose upstream did not keep the session forgets those ids (forgetIds): a later kept
// session never held them.

/** lastSent(): the record was acknowledged after it was sent: it is not sent again. */
export const ACKNOWLEDGED = -1;
/** lastSent(): the record was sent before, but under a packet id of an earlier session (forgetIds): it is sent again
 * as a re-delivery under a new id, and its old id is not reserved. */
export const SENT_BEFORE = -2;

export interface InflightEntry {
  seq: number;
  segFirst: number;
  offset: number;
  ts: number;
}

export class InflightWindow {
  #seq = new Float64Array(256);
  #segFirst = new Float64Array(256);
  #offset = new Float64Array(256);
  #ts = new Float64Array(256);
  #acked = new Uint8Array(256);
  /** The packet id the record was last sent with; 0: never sent with one; SENT_BEFORE. */
  #packetId = new Int32Array(256);
  #head = 0;
  /** Slots used from head on, acknowledged ones in the middle included. */
  #used = 0;
  #live = 0;
  /** What the window knew at the last rewind, by ascending seq: the packet id, 0, SENT_BEFORE or ACKNOWLEDGED. */
  #replaySeq = new Float64Array(0);
  #replayId = new Int32Array(0);
  /** The next replay entry the reader has not passed yet. */
  #replayAt = 0;
  /** The slot sentWith found last: records are written in hand-out order, so the next one is usually after it. */
  #hint = 0;

  get size(): number {
    return this.#live;
  }

  /** Adds a record; its seq must be higher than every seq added before. `lastSent`: what lastSent said of it (an
   * ACKNOWLEDGED record is kept as such, not handed out, so a later rewind still knows it). */
  push(seq: number, segFirst: number, offset: number, ts: number, lastSent = 0): void {
    if (this.#used === this.#seq.length) this.#grow();
    const i = (this.#head + this.#used) & (this.#seq.length - 1);
    this.#seq[i] = seq;
    this.#segFirst[i] = segFirst;
    this.#offset[i] = offset;
    this.#ts[i] = ts;
    this.#used++;
    if (lastSent === ACKNOWLEDGED) {
      this.#acked[i] = 1;
      this.#packetId[i] = 0;
      this.#trim();
      return;
    }
    this.#acked[i] = 0;
    this.#packetId[i] = lastSent;
    this.#live++;
  }

  /** The record `seq` (handed out) was written to the upstream with `packetId`. */
  sentWith(seq: number, packetId: number): void {
    const mask = this.#seq.length - 1;
    let i = (this.#hint + 1) & mask;
    if (this.#seq[i] !== seq || ((i - this.#head) & mask) >= this.#used) {
      const k = this.#indexOf(seq);
      if (k < 0) return;
      i = (this.#head + k) & mask;
    }
    this.#hint = i;
    this.#packetId[i] = packetId;
  }

  /** The connection was lost: nothing is handed out any more. What the window knew of each record (sent with
   * which packet id, acknowledged) is kept for lastSent while the reader passes it again. */
  rewind(): void {
    const mask = this.#seq.length - 1;
    // Replay entries the reader has not passed yet are all above the records handed out since the last rewind.
    const keep = this.#replaySeq.length - this.#replayAt;
    const seqs = new Float64Array(this.#used + keep);
    const ids = new Int32Array(this.#used + keep);
    for (let k = 0; k < this.#used; k++) {
      const i = (this.#head + k) & mask;
      seqs[k] = this.#seq[i]!;
      ids[k] = this.#acked[i] ? ACKNOWLEDGED : this.#packetId[i]!;
    }
    seqs.set(this.#replaySeq.subarray(this.#replayAt), this.#used);
    ids.set(this.#replayId.subarray(this.#replayAt), this.#used);
    this.#replaySeq = seqs;
    this.#replayId = ids;
    this.#replayAt = 0;
    this.#head = 0;
    this.#used = 0;
    this.#live = 0;
  }

  /** For the reader passing `seq` again after a rewind, in ascending seq order: ACKNOWLEDGED, the packet id the
   * record was last sent with, SENT_BEFORE (its id was forgotten), or 0 (not sent before, or sent without a packet
   * id). */
  lastSent(seq: number): number {
    const seqs = this.#replaySeq;
    let at = this.#replayAt;
    if (at >= seqs.length) return 0;
    while (at < seqs.length && seqs[at]! < seq) at++;
    let sent = 0;
    if (at < seqs.length && seqs[at] === seq) sent = this.#replayId[at++]!;
    this.#replayAt = at;
    return sent;
  }

  /** Each packet id a rewind now would hand out again (unacknowledged records sent with one), so that nothing else
   * takes it before its record is sent again on a kept session (MQTT-2.2.1-3). */
  forEachResendId(fn: (packetId: number) => void): void {
    const mask = this.#seq.length - 1;
    for (let k = 0; k < this.#used; k++) {
      const i = (this.#head + k) & mask;
      if (!this.#acked[i] && this.#packetId[i]! > 0) fn(this.#packetId[i]!);
    }
    for (let at = this.#replayAt; at < this.#replayId.length; at++)
      if (this.#replayId[at]! > 0) fn(this.#replayId[at]!);
  }

  /** The upstream did not keep the session: no record is sent again under the packet id it had there, so a later
   * kept session neither reuses nor reserves an id it never saw. Each record sent with one is SENT_BEFORE. */
  forgetIds(): void {
    const mask = this.#seq.length - 1;
    for (let k = 0; k < this.#used; k++) {
      const i = (this.#head + k) & mask;
      if (this.#packetId[i]! > 0) this.#packetId[i] = SENT_BEFORE;
    }
    const ids = this.#replayId;
    for (let at = this.#replayAt; at < ids.length; at++) if (ids[at]! > 0) ids[at] = SENT_BEFORE;
  }

  /** Marks `seq` acknowledged; false if it is not handed out (a record the reader has still to pass again after
   * a rewind is marked for lastSent). */
  delete(seq: number): boolean {
    const k = this.#indexOf(seq);
    if (k < 0) {
      this.#replayAcknowledged(seq);
      return false;
    }
    const i = (this.#head + k) & (this.#seq.length - 1);
    if (this.#acked[i]) return false;
    this.#acked[i] = 1;
    this.#live--;
    this.#trim();
    return true;
  }

  /** The position of `seq` from the head, or -1. */
  #indexOf(seq: number): number {
    const mask = this.#seq.length - 1;
    let lo = 0;
    let hi = this.#used - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.#seq[(this.#head + mid) & mask]!;
      if (s < seq) lo = mid + 1;
      else if (s > seq) hi = mid - 1;
      else return mid;
    }
    return -1;
  }

  #replayAcknowledged(seq: number): void {
    const seqs = this.#replaySeq;
    let lo = this.#replayAt;
    let hi = seqs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = seqs[mid]!;
      if (s < seq) lo = mid + 1;
      else if (s > seq) hi = mid - 1;
      else {
        this.#replayId[mid] = ACKNOWLEDGED;
        return;
      }
    }
  }

  /** Forgets every record below `seq` (their segment was dropped). */
  dropBelow(seq: number): void {
    const mask = this.#seq.length - 1;
    while (this.#used > 0 && this.#seq[this.#head]! < seq) {
      if (!this.#acked[this.#head]) this.#live--;
      this.#head = (this.#head + 1) & mask;
      this.#used--;
    }
    this.#trim();
  }

  /** Forgets everything, what a rewind kept too. */
  clear(): void {
    this.#head = 0;
    this.#used = 0;
    this.#live = 0;
    this.#replaySeq = new Float64Array(0);
    this.#replayId = new Int32Array(0);
    this.#replayAt = 0;
  }

  /** The oldest unacknowledged record. */
  first(): InflightEntry | undefined {
    if (this.#used === 0) return undefined;
    const i = this.#head;
    return { seq: this.#seq[i]!, segFirst: this.#segFirst[i]!, offset: this.#offset[i]!, ts: this.#ts[i]! };
  }

  #trim(): void {
    const mask = this.#seq.length - 1;
    while (this.#used > 0 && this.#acked[this.#head]) {
      this.#head = (this.#head + 1) & mask;
      this.#used--;
    }
    if (this.#used === 0) this.#head = 0;
  }

  #grow(): void {
    const cap = this.#seq.length;
    const order = (a: Float64Array) => {
      const b = new Float64Array(cap * 2);
      for (let k = 0; k < this.#used; k++) b[k] = a[(this.#head + k) & (cap - 1)]!;
      return b;
    };
    const acked = new Uint8Array(cap * 2);
    const packetId = new Int32Array(cap * 2);
    for (let k = 0; k < this.#used; k++) {
      acked[k] = this.#acked[(this.#head + k) & (cap - 1)]!;
      packetId[k] = this.#packetId[(this.#head + k) & (cap - 1)]!;
    }
    this.#seq = order(this.#seq);
    this.#segFirst = order(this.#segFirst);
    this.#offset = order(this.#offset);
    this.#ts = order(this.#ts);
    this.#acked = acked;
    this.#packetId = packetId;
    this.#head = 0;
  }
}
