// Bounded memory of advertisers: a Map kept in least-recently-seen order (delete + set moves an entry to the
// end), so evicting the first key drops the advertiser seen longest ago. 1,000s of passers-by cannot grow it.
// Eviction takes the oldest key through OldestKey: every sighting moves its entry, so the map churns.
import { OldestKey } from '../../gateway/oldest-key.js';

export interface AdvertiserEntry {
  lastSeen: number;
  /** When it was last reported as unknown (deviceSeen), for the rate limit. */
  lastReported: number;
}

export class AdvertiserCache {
  readonly #entries = new Map<string, AdvertiserEntry>();
  readonly #oldest = new OldestKey(this.#entries);
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
      else this.#oldest.release();
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
    this.#oldest.reset();
  }

  #evictOldest(): void {
    const oldest = this.#oldest.take();
    if (oldest === undefined) return;
    this.#entries.delete(oldest);
    this.evictions++;
    this.onEvict(oldest);
  }
}
