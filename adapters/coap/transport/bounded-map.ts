// A Map with a hard entry limit (oldest insertion evicted first) and a per-entry time to live.
// Every piece of per-peer state the transport keeps (dedup, reassembly, Block2 caches) lives in one of these so
// nothing a device sends can grow memory without bound.
// Eviction takes the oldest key through OldestKey (O(1) while the map churns; see there why).
import { OldestKey } from '../../../gateway/oldest-key.js';

export class BoundedExpiringMap<K, V> {
  private readonly entries = new Map<K, { value: V; expires: number }>();
  private readonly oldest = new OldestKey(this.entries);

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    // Monotonic: a clock step must neither keep entries past their lifetime nor drop them early.
    private readonly now: () => number = () => performance.now(),
    /** Told of each entry the map drops on its own (evicted by the bound, or expired); not of delete() or clear(). */
    private readonly dropped?: (key: K, value: V) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= this.now()) {
      this.entries.delete(key);
      this.dropped?.(key, entry.value);
      return undefined;
    }
    return entry.value;
  }

  set(key: K, value: V, ttlMs = this.ttlMs): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.now() + ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.oldest.take();
      if (oldest === undefined) break;
      const evicted = this.dropped && this.entries.get(oldest);
      this.entries.delete(oldest);
      if (evicted) this.dropped?.(oldest, evicted.value);
    }
    if (this.entries.size < this.maxEntries) this.oldest.release();
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.oldest.reset();
  }

  /** Drop expired entries; call periodically so idle peers do not pin memory until eviction. */
  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.expires > now) continue;
      this.entries.delete(key);
      this.dropped?.(key, entry.value);
    }
  }
}
