import { describe, expect, it } from 'vitest';
import { PerPeerBoundedMap } from '../../../adapters/coap/transport/per-peer-map.js';

type Entry = { owner: string; n: number };

function live(map: PerPeerBoundedMap<Entry>, candidates: string[]): string[] {
  return candidates.filter((k) => map.get(k) !== undefined);
}

describe('PerPeerBoundedMap', () => {
  it("evicts a peer's own least recently set entry past its share, never another peer's", () => {
    const map = new PerPeerBoundedMap<Entry>(10, 3, 60_000);
    map.set('a1', { owner: 'a', n: 1 });
    for (const k of ['b1', 'b2', 'b3']) map.set(k, { owner: 'b', n: 0 });
    map.set('b1', { owner: 'b', n: 1 }); // set again: b's newest
    map.set('b4', { owner: 'b', n: 4 }); // evicts b2
    map.set('b5', { owner: 'b', n: 5 }); // evicts b3
    expect(live(map, ['a1', 'b1', 'b2', 'b3', 'b4', 'b5'])).toEqual(['a1', 'b1', 'b4', 'b5']);
    map.delete('b4');
    map.set('b6', { owner: 'b', n: 6 }); // within the share again
    expect(live(map, ['a1', 'b1', 'b5', 'b6'])).toEqual(['a1', 'b1', 'b5', 'b6']);
  });

  it('keeps the total bound, dropping the oldest entry of any peer', () => {
    let now = 0;
    const map = new PerPeerBoundedMap<Entry>(4, 3, 1000, () => now);
    map.set('a1', { owner: 'a', n: 1 });
    map.set('a2', { owner: 'a', n: 2 });
    map.set('b1', { owner: 'b', n: 1 });
    map.set('c1', { owner: 'c', n: 1 });
    map.set('d1', { owner: 'd', n: 1 }); // the total: evicts a1
    map.set('a3', { owner: 'a', n: 3 }); // the total: evicts a2
    expect(map.size).toBe(4);
    expect(live(map, ['a1', 'a2', 'a3', 'b1', 'c1', 'd1'])).toEqual(['a3', 'b1', 'c1', 'd1']);
    map.set('a4', { owner: 'a', n: 4 }); // the total: evicts b1
    map.set('a5', { owner: 'a', n: 5 }); // the total: evicts c1
    map.set('a6', { owner: 'a', n: 6 }); // a's share: evicts a3
    expect(live(map, ['a3', 'a4', 'a5', 'a6', 'd1'])).toEqual(['a4', 'a5', 'a6', 'd1']);
    now = 1500;
    map.sweep();
    expect(map.size).toBe(0);
    for (const k of ['a7', 'a8', 'a9']) map.set(k, { owner: 'a', n: 0 });
    expect(live(map, ['a7', 'a8', 'a9'])).toEqual(['a7', 'a8', 'a9']);
  });

  // What it keeps per peer goes with the peer's last entry, however that goes: else a peer that came once would be
  // kept for good.
  it('keeps no peer whose last entry expired', () => {
    let now = 0;
    const map = new PerPeerBoundedMap<Entry>(10, 3, 1000, () => now);
    map.set('a1', { owner: 'a', n: 1 });
    map.set('a2', { owner: 'a', n: 2 });
    map.set('b1', { owner: 'b', n: 1 });
    expect(map.peers).toBe(2);
    now = 1500;
    map.sweep();
    expect([map.size, map.peers]).toEqual([0, 0]);
  });

  it('keeps no peer whose last entry was deleted', () => {
    const map = new PerPeerBoundedMap<Entry>(10, 3, 60_000);
    map.set('a1', { owner: 'a', n: 1 });
    map.set('a2', { owner: 'a', n: 2 });
    map.delete('a1');
    expect(map.peers).toBe(1);
    map.delete('a2');
    expect([map.size, map.peers]).toEqual([0, 0]);
  });

  it('keeps no peer whose only entry the total bound evicted', () => {
    const map = new PerPeerBoundedMap<Entry>(2, 2, 60_000);
    map.set('a1', { owner: 'a', n: 1 });
    map.set('b1', { owner: 'b', n: 1 });
    expect(map.peers).toBe(2);
    map.set('b2', { owner: 'b', n: 2 }); // the total: evicts a1, a's only entry
    expect(live(map, ['a1', 'b1', 'b2'])).toEqual(['b1', 'b2']);
    expect(map.peers).toBe(1);
    map.delete('b1');
    map.delete('b2');
    expect(map.peers).toBe(0);
  });
});
