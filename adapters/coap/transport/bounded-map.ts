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
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= this.now()) {
      this.entries.delete(key);
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
      this.entries.delete(oldest);
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
    for (const [key, entry] of this.entries) if (entry.expires <= now) this.entries.delete(key);
  }
}
