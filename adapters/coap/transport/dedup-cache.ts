// Request deduplication (RFC 7252 §4.5): what we answered to (peer, message id), kept for EXCHANGE_LIFETIME or
// until `capacity` newer requests pushed it out, oldest first: once full, among the peers holding their fair share
// (capacity / peers) or more. A peer below its share keeps its entries, so one device flooding the gateway (a firmware
// loop, or a spoofed source) shortens its own window and not every other device's: their retransmissions are still
// recognised and a POST is not carried out twice.
//
// Why not a Map of objects: every request adds an entry and, once full, evicts one, and each entry lives long
// enough (seconds) to be promoted to V8's old space before it dies. As a Map<string, {value, expires}> with a
// Buffer per answer that was about 370 bytes of old-space garbage per CoAP request, which made the gateway's
// RSS saw-tooth by 60-70 MB between full GCs in the CoAP bench. Here the entries live in preallocated typed
// arrays (a ring in insertion order); the only per-entry heap use is one number->number Map slot. Answers up
// to INLINE_BYTES (the usual ACK: 4-byte header + token) are copied into a slab, larger ones kept as Buffers.
export const PENDING = Symbol('pending');
export type DedupValue = Buffer | typeof PENDING;

const INLINE_BYTES = 16;
const PENDING_LEN = 0xfd;
const LARGE_LEN = 0xfe;
const DEAD = 0xff;

export class DedupCache {
  readonly #capacity: number;
  /** numeric key (peer id * 65536 + message id) -> slot */
  readonly #index = new Map<number, number>();
  readonly #keys: Float64Array;
  readonly #expires: Float64Array;
  /** 0..INLINE_BYTES: inline answer length; PENDING_LEN, LARGE_LEN, or DEAD for a removed slot. */
  readonly #lengths: Uint8Array;
  readonly #slab: Uint8Array;
  readonly #large = new Map<number, Buffer>();
  /** Peers with at least one entry get a small integer id (at most one per slot, so ids stay below capacity). */
  readonly #peerIds = new Map<string, number>();
  readonly #peerNames: Array<string | undefined>;
  readonly #peerRefs: Int32Array;
  readonly #freePeerIds: number[] = [];
  #nextPeerId = 0;
  /** Ring of slots in insertion order: #head is the oldest, #used slots from there are taken (live or DEAD). */
  #head = 0;
  #used = 0;

  constructor(
    capacity: number,
    private readonly ttlMs: number,
    // Monotonic: a clock step must neither keep entries past their lifetime nor drop them early.
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#capacity = Math.max(1, Math.floor(capacity));
    this.#keys = new Float64Array(this.#capacity);
    this.#expires = new Float64Array(this.#capacity);
    this.#lengths = new Uint8Array(this.#capacity).fill(DEAD);
    this.#slab = new Uint8Array(this.#capacity * INLINE_BYTES);
    this.#peerNames = new Array(this.#capacity).fill(undefined);
    this.#peerRefs = new Int32Array(this.#capacity);
  }

  /** Live entries. */
  get size(): number {
    return this.#index.size;
  }

  get(peer: string, messageId: number): DedupValue | undefined {
    const id = this.#peerIds.get(peer);
    if (id === undefined) return undefined;
    const slot = this.#index.get(id * 65_536 + messageId);
    if (slot === undefined) return undefined;
    if (this.#expires[slot]! <= this.now()) {
      this.#remove(slot);
      return undefined;
    }
    const length = this.#lengths[slot]!;
    if (length === PENDING_LEN) return PENDING;
    if (length === LARGE_LEN) return this.#large.get(slot);
    // A retransmitted request (rare): hand out a copy, the slab slot may be reused later.
    return Buffer.from(this.#slab.subarray(slot * INLINE_BYTES, slot * INLINE_BYTES + length));
  }

  /** Record (or replace) the answer for (peer, message id); a replaced entry keeps its place in the eviction order. */
  set(peer: string, messageId: number, value: DedupValue): void {
    const known = this.#peerIds.get(peer);
    const existing = known === undefined ? undefined : this.#index.get(known * 65_536 + messageId);
    if (existing !== undefined) {
      this.#store(existing, value);
      return;
    }
    if (this.#used === this.#capacity) this.#makeRoom();
    // Looked up again: the eviction may have released this peer's id (its last entry).
    const id = this.#peerIds.get(peer) ?? this.#peerIdFor(peer);
    const slot = (this.#head + this.#used) % this.#capacity;
    this.#used++;
    const key = id * 65_536 + messageId;
    this.#keys[slot] = key;
    this.#index.set(key, slot);
    this.#peerRefs[id]!++;
    this.#store(slot, value);
  }

  /** Drop expired entries from the old end; call periodically so idle peers do not pin memory until eviction. */
  sweep(): void {
    const now = this.now();
    while (this.#used > 0) {
      const slot = this.#head;
      if (this.#lengths[slot] !== DEAD && this.#expires[slot]! > now) break;
      if (this.#lengths[slot] !== DEAD) this.#remove(slot);
      else this.#popHead();
    }
  }

  clear(): void {
    this.#index.clear();
    this.#large.clear();
    this.#peerIds.clear();
    this.#peerNames.fill(undefined);
    this.#peerRefs.fill(0);
    this.#lengths.fill(DEAD);
    this.#freePeerIds.length = 0;
    this.#nextPeerId = 0;
    this.#head = 0;
    this.#used = 0;
  }

  #store(slot: number, value: DedupValue): void {
    this.#expires[slot] = this.now() + this.ttlMs;
    this.#large.delete(slot);
    if (value === PENDING) {
      this.#lengths[slot] = PENDING_LEN;
    } else if (value.length <= INLINE_BYTES) {
      this.#slab.set(value, slot * INLINE_BYTES);
      this.#lengths[slot] = value.length;
    } else {
      this.#large.set(slot, value);
      this.#lengths[slot] = LARGE_LEN;
    }
  }

  /**
   * Frees the oldest slot whose entry is dead, expired or held by a peer with at least its fair share. An entry of a
   * peer below its share goes to the new end instead: with the ring full, that is moving the head past it. The loop
   * ends within one turn of the ring: a full ring where every peer is below capacity / peers cannot be.
   */
  #makeRoom(): void {
    const share = Math.floor(this.#capacity / this.#peerIds.size);
    const now = this.now();
    for (let step = 0; step < this.#capacity; step++) {
      const slot = this.#head;
      if (this.#lengths[slot] === DEAD) {
        this.#popHead();
        return;
      }
      const peer = Math.floor(this.#keys[slot]! / 65_536);
      if (this.#expires[slot]! <= now || this.#peerRefs[peer]! >= share) {
        this.#remove(slot);
        return;
      }
      this.#head = (this.#head + 1) % this.#capacity;
    }
    this.#remove(this.#head);
  }

  /** Mark a slot dead and release its index entry and peer id; dead slots at the old end are reclaimed at once. */
  #remove(slot: number): void {
    const key = this.#keys[slot]!;
    this.#index.delete(key);
    this.#large.delete(slot);
    this.#lengths[slot] = DEAD;
    const id = Math.floor(key / 65_536);
    if (--this.#peerRefs[id]! === 0) {
      const name = this.#peerNames[id];
      if (name !== undefined) this.#peerIds.delete(name);
      this.#peerNames[id] = undefined;
      this.#freePeerIds.push(id);
    }
    while (this.#used > 0 && this.#lengths[this.#head] === DEAD) this.#popHead();
  }

  #popHead(): void {
    this.#head = (this.#head + 1) % this.#capacity;
    this.#used--;
  }

  #peerIdFor(peer: string): number {
    const id = this.#freePeerIds.pop() ?? this.#nextPeerId++;
    this.#peerIds.set(peer, id);
    this.#peerNames[id] = peer;
    return id;
  }
}
