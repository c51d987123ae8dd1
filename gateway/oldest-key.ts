// The oldest key of a Map in insertion order, in O(1) amortised while a full map churns.
//
// `map.keys().next()` starts a fresh iterator each time, and V8 leaves a deleted entry as a hole until the table is
// rehashed, so with the oldest entry deleted on each insert a fresh iterator walks every hole at the front: a full
// 20,000-entry CoAP dedup map cost 15-40 µs per insert that way (2.7 µs before it filled). One live iterator stays
// valid across inserts, deletes and rehashes and visits entries in insertion order; every entry before its position
// has been deleted (moved to the end, or evicted), so its next key is the oldest live one and each hole is skipped once.
//
// But a live iterator that does not move keeps alive every hash table the map had since it was last advanced (V8
// chains a rehashed table to its successor for the iterators still on it): a map that churns below its capacity
// would hold all of them, ~70 bytes per insert for good. So the iterator exists only while the map is full: made
// at the first take(), let go by release() as soon as an insert finds the map below capacity.
export class OldestKey<K> {
  #keys: Iterator<K> | undefined;

  constructor(private readonly map: Map<K, unknown>) {}

  /** The oldest key, to be deleted by the caller (it is not returned again); undefined when the map is empty. */
  take(): K | undefined {
    this.#keys ??= this.map.keys();
    let oldest = this.#keys.next();
    if (oldest.done) {
      // An exhausted iterator stays exhausted (it reached the end once, e.g. while the map was empty): start again.
      this.#keys = this.map.keys();
      oldest = this.#keys.next();
    }
    return oldest.done ? undefined : oldest.value;
  }

  /** The map is below its capacity (no take() until it fills again): the iterator is let go. */
  release(): void {
    this.#keys = undefined;
  }

  /** After map.clear(). */
  reset(): void {
    this.#keys = undefined;
  }
}
