// LoginThrottle's failure counts, at most `maxKeys` of them. Room for a new key is made by forgetting expired counts,
// then the count with the oldest last failure among those still under the free failures. A count that holds its
// key (a locked-out address or user name) is kept until it expires: were it dropped for room, anyone able to send
// from enough addresses, or to try enough user names, could buy a locked-out key a fresh start. When every count
// holds its key, a new key gets no room until the first of them expires (roomWait).

export interface Failures {
  count: number;
  /** When the count's first failure was. */
  first: number;
  /** Until when the key waits. */
  until: number;
}

export interface FailurePolicy {
  /** Does the count hold its key (past the free failures)? Such a count is never dropped for room. */
  holds(f: Failures): boolean;
  /** When the count is over and may be forgotten. */
  expiresAt(f: Failures): number;
}

export class FailureTable {
  /** Counts under the free failures, the oldest last failure first: dropped in this order for room. */
  readonly #counting = new Map<string, Failures>();
  /** Counts that hold their key: kept until they expire. */
  readonly #holding = new Map<string, Failures>();
  /** No holding count expires before this, so that a table full of them is not searched on every login. */
  #holdingExpiry = Number.POSITIVE_INFINITY;

  constructor(
    private readonly maxKeys: number,
    private readonly policy: FailurePolicy,
  ) {}

  /** The key's count unless it has expired (an expired count is forgotten). */
  live(key: string, t: number): Failures | undefined {
    const f = this.#counting.get(key) ?? this.#holding.get(key);
    if (f && t >= this.policy.expiresAt(f)) {
      this.delete(key);
      return undefined;
    }
    return f;
  }

  /** Milliseconds until there is room for those of `keys` not in the table (0: there is room now). */
  roomWait(keys: readonly string[], t: number): number {
    const droppable = this.#counting.size - keys.filter((key) => this.#counting.has(key)).length;
    return this.#overBy(keys, t) > droppable ? this.#holdingExpiry - t : 0;
  }

  /** Makes what room it can for those of `keys` not in the table, dropping none of `keys`. */
  makeRoom(keys: readonly string[], t: number): void {
    let over = this.#overBy(keys, t);
    for (const key of this.#counting.keys()) {
      if (over <= 0) return;
      if (keys.includes(key)) continue;
      this.#counting.delete(key);
      over--;
    }
  }

  /**
   * Files the key's count, changed by a failure or a success (every change to a count must be filed): it becomes the
   * last to be dropped. False, and not filed, when the key is new and there is no room.
   */
  set(key: string, f: Failures): boolean {
    const known = this.delete(key);
    if (!known && this.#size() >= this.maxKeys) return false;
    if (this.policy.holds(f)) {
      this.#holding.set(key, f);
      this.#holdingExpiry = Math.min(this.#holdingExpiry, this.policy.expiresAt(f));
    } else {
      this.#counting.set(key, f);
    }
    return true;
  }

  delete(key: string): boolean {
    return this.#counting.delete(key) || this.#holding.delete(key);
  }

  /** By how many keys the table would be over its size with the missing `keys`, once expired counts are forgotten. */
  #overBy(keys: readonly string[], t: number): number {
    const over = () =>
      this.#size() + keys.filter((key) => !this.#counting.has(key) && !this.#holding.has(key)).length - this.maxKeys;
    if (over() > 0 && t >= this.#holdingExpiry) this.#forgetExpired(t);
    return over();
  }

  #forgetExpired(t: number): void {
    this.#holdingExpiry = Number.POSITIVE_INFINITY;
    for (const [key, f] of this.#holding) {
      const expiry = this.policy.expiresAt(f);
      if (t >= expiry) this.#holding.delete(key);
      else this.#holdingExpiry = Math.min(this.#holdingExpiry, expiry);
    }
  }

  #size(): number {
    return this.#counting.size + this.#holding.size;
  }
}
