// The records handed out and not yet acknowledged, in hand-out (= sequence) order, without an object per
// record: parallel typed arrays used as a ring. Acknowledgements may come in any order; the oldest
// unacknowledged record (the queue's cursor) is always at the head.

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
  #head = 0;
  /** Slots used from head on, acknowledged ones in the middle included. */
  #used = 0;
  #live = 0;

  get size(): number {
    return this.#live;
  }

  /** Adds a record; its seq must be higher than every seq added before. */
  push(seq: number, segFirst: number, offset: number, ts: number): void {
    if (this.#used === this.#seq.length) this.#grow();
    const i = (this.#head + this.#used) & (this.#seq.length - 1);
    this.#seq[i] = seq;
    this.#segFirst[i] = segFirst;
    this.#offset[i] = offset;
    this.#ts[i] = ts;
    this.#acked[i] = 0;
    this.#used++;
    this.#live++;
  }

  /** Marks `seq` acknowledged; false if it is not in the window. */
  delete(seq: number): boolean {
    const mask = this.#seq.length - 1;
    let lo = 0;
    let hi = this.#used - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const i = (this.#head + mid) & mask;
      const s = this.#seq[i]!;
      if (s < seq) lo = mid + 1;
      else if (s > seq) hi = mid - 1;
      else {
        if (this.#acked[i]) return false;
        this.#acked[i] = 1;
        this.#live--;
        this.#trim();
        return true;
      }
    }
    return false;
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

  clear(): void {
    this.#head = 0;
    this.#used = 0;
    this.#live = 0;
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
    for (let k = 0; k < this.#used; k++) acked[k] = this.#acked[(this.#head + k) & (cap - 1)]!;
    this.#seq = order(this.#seq);
    this.#segFirst = order(this.#segFirst);
    this.#offset = order(this.#offset);
    this.#ts = order(this.#ts);
    this.#acked = acked;
    this.#head = 0;
  }
}
