// Block-wise state (Block1 uploads in progress, Block2 bodies being read) under two bounds: the total shared by all
// peers, and a smaller one per peer. A peer past its own bound loses its own least recently set entry, so a peer that
// opens many transfers at once (other paths, queries or Request-Tags) cannot push out another peer's, which would then
// fail half-way (an upload's next block gets 4.08). The total still bounds memory when many peers come at once.
import { BoundedExpiringMap } from './bounded-map.js';

export interface PeerOwned {
  /** peerKey() of the peer the entry belongs to. */
  readonly owner: string;
}

export class PerPeerBoundedMap<V extends PeerOwned> {
  private readonly entries: BoundedExpiringMap<string, V>;
  /** Each peer's keys, least recently set first; a peer leaves with its last entry. */
  private readonly byPeer = new Map<string, Set<string>>();
  private readonly perPeer: number;

  constructor(maxEntries: number, perPeer: number, ttlMs: number, now?: () => number) {
    this.perPeer = Math.max(1, Math.min(perPeer, maxEntries));
    this.entries = new BoundedExpiringMap(maxEntries, ttlMs, now, (key, value) => this.forget(key, value.owner));
  }

  get size(): number {
    return this.entries.size;
  }

  /** How many peers have entries kept for them: a peer whose last entry went (expired, deleted, evicted) is not one. */
  get peers(): number {
    return this.byPeer.size;
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): void {
    let keys = this.byPeer.get(value.owner);
    if (keys === undefined) {
      keys = new Set();
      this.byPeer.set(value.owner, keys);
    } else {
      keys.delete(key);
    }
    while (keys.size >= this.perPeer) {
      const oldest = keys.values().next().value as string;
      keys.delete(oldest);
      this.entries.delete(oldest);
    }
    keys.add(key);
    this.entries.set(key, value);
  }

  delete(key: string): void {
    const value = this.entries.get(key);
    if (value === undefined) return;
    this.entries.delete(key);
    this.forget(key, value.owner);
  }

  clear(): void {
    this.entries.clear();
    this.byPeer.clear();
  }

  sweep(): void {
    this.entries.sweep();
  }

  private forget(key: string, owner: string): void {
    const keys = this.byPeer.get(owner);
    if (keys === undefined) return;
    keys.delete(key);
    if (keys.size === 0) this.byPeer.delete(owner);
  }
}
