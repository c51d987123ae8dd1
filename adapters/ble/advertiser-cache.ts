// Bounded memory of advertisers: a Map kept in least-recently-seen order (delete + set moves an entry to the
// end), so evicting the first key drops the advertiser seen longest ago. 1,000s of passers-by cannot grow it.
//
// Eviction keeps one live iterator over the map instead of calling `keys().next()` each time (as the CoAP
// transport's bounded maps do since 4c3c028): every sighting deletes and re-inserts its entry, and V8 leaves a
// deleted entry as a hole until the table is rehashed, so a fresh iterator walks every hole at the front of a full
// cache that churns. A Map iterator stays valid across inserts, deletes and rehashes and visits entries in insertion
// order; every entry before its position has been deleted (moved to the end, or evicted), so its next key is the
// least recently seen advertiser and each hole is skipped once.
export interface AdvertiserEntry {
  lastSeen: number;
  /** When it was last reported as unknown (deviceSeen), for the rate limit. */
  lastReported: number;
  /** Last BTHome packet id / encryption counter, to drop repeated adverts. */
  lastPacket?: number;
}

export class AdvertiserCache {
  readonly #entries = new Map<string, AdvertiserEntry>();
  /** Every entry before its position has been deleted, so its next key is the least recently seen one. */
  #oldest: Iterator<string> = this.#entries.keys();
  evictions = 0;

  constructor(
    private readonly max: number,
    private readonly onEvict: (address: string) => void = () => {},
  ) {}

  touch(address: string, now: number): AdvertiserEntry {
    let entry = this.#entries.get(address);
    if (entry) this.#entries.delete(address);
    else {
      entry = { lastSeen: now, lastReported: Number.NEGATIVE_INFINITY };
      if (this.#entries.size >= this.max) this.#evictOldest();
    }
    entry.lastSeen = now;
    this.#entries.set(address, entry);
    return entry;
  }

  /** Whether the address is remembered, without refreshing it. */
  has(address: string): boolean {
    return this.#entries.has(address);
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
    this.#oldest = this.#entries.keys();
  }

  #evictOldest(): void {
    let oldest = this.#oldest.next();
    if (oldest.done) {
      // An exhausted iterator stays exhausted (it reached the end once): start again from the front.
      this.#oldest = this.#entries.keys();
      oldest = this.#oldest.next();
    }
    if (!oldest.done) {
      this.#entries.delete(oldest.value);
      this.evictions++;
      this.onEvict(oldest.value);
    }
  }
}
