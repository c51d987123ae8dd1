// The /ps/<id>/set observe relations: one per peer, four per device, a total bound that a refused registration
// does not wear down.
import { describe, expect, it } from 'vitest';
import { CommandObservers, RESTORED_SEQUENCE_JUMP } from '../../../adapters/coap/command-observers.js';

const observer = (port: number, token = 1) => ({
  peer: { address: '::1', port },
  token: Buffer.from([token]),
  accept: undefined,
  block2Szx: undefined,
});

/** The relations the structure holds, counted one by one (what `size` must agree with). */
const counted = (o: CommandObservers, ids: string[]) => ids.reduce((n, id) => n + o.of(id).length, 0);

describe('CommandObservers', () => {
  it('keeps one relation per peer and four per device, the oldest going first', () => {
    const evicted: number[] = [];
    const o = new CommandObservers(100, (_id, old) => evicted.push(old.peer.port));
    expect(o.add('a', observer(1, 1))).toBe(true);
    expect(o.add('a', observer(1, 2))).toBe(true);
    expect(o.of('a').map((r) => r.token[0])).toEqual([2]);
    for (let port = 2; port <= 5; port++) o.add('a', observer(port));
    expect(o.of('a').map((r) => r.peer.port)).toEqual([2, 3, 4, 5]);
    expect(o.size).toBe(4);
    // The relation replaced by a re-registration of its peer is not "evicted"; the one pushed out is.
    expect(evicted).toEqual([1]);
  });

  it('refuses past the total without changing anything, so that its count stays true', () => {
    const o = new CommandObservers(3);
    expect(o.add('a', observer(1))).toBe(true);
    expect(o.add('b', observer(2))).toBe(true);
    expect(o.add('c', observer(3))).toBe(true);
    // Many refused registrations, some of them from a peer that already has one.
    for (let i = 0; i < 50; i++) expect(o.add(`x${i}`, observer(100 + i))).toBe(false);
    expect(o.size).toBe(3);
    expect(counted(o, ['a', 'b', 'c'])).toBe(3);
    // A re-registration of a peer replaces its relation: still within the total.
    expect(o.add('a', observer(1, 9))).toBe(true);
    expect(o.size).toBe(3);
    o.remove('b', { address: '::1', port: 2 });
    expect(o.size).toBe(2);
    expect(o.add('d', observer(4))).toBe(true);
    expect(o.add('e', observer(5))).toBe(false);
    expect(o.size).toBe(counted(o, ['a', 'b', 'c', 'd', 'e']));
  });

  it('admits() tells what add() would do, changing nothing', () => {
    const o = new CommandObservers(5);
    for (let port = 1; port <= 4; port++) o.add('a', observer(port));
    expect(o.add('b', observer(10))).toBe(true);
    const asked: Array<[string, number]> = [
      ['c', 11], // a new relation past the total
      ['a', 1], // a re-registration of a peer
      ['a', 12], // a fifth peer of a device: its oldest goes, the total stays
      ['b', 13], // a second peer of a device: the total grows
    ];
    const admitted = asked.map(([id, port]) => o.admits(id, { address: '::1', port }));
    expect(admitted).toEqual([false, true, true, false]);
    expect(o.size).toBe(5);
    expect(asked.map(([id, port]) => o.add(id, observer(port, 2)))).toEqual(admitted);
  });

  it('gives every stored command its own ETag, also after the device was removed and added again', () => {
    const o = new CommandObservers(10);
    expect(o.etag('a')).toBeUndefined();
    o.setLastCommand('a', { led: true });
    const first = o.etag('a');
    o.retain(new Set()); // removed from the config
    o.setLastCommand('a', { led: true });
    const again = o.etag('a');
    expect(first).toHaveLength(8);
    expect(again?.equals(first as Buffer)).toBe(false);
    o.setLastCommand('b', { led: true });
    expect(o.etag('b')?.equals(again as Buffer)).toBe(false);
  });

  it('hands back what it restored: the command with its ETag, the relations, a sequence number that only moves on', () => {
    const before = new CommandObservers(10);
    before.add('a', observer(1, 7));
    before.setLastCommand('a', { led: true });
    const sent = before.nextSequence('a');
    const saved = before.saved().get('a');
    if (!saved) throw new Error('nothing saved');

    const after = new CommandObservers(10);
    expect(after.restore('a', saved)).toBe(1);
    expect(after.of('a').map((o) => o.token[0])).toEqual([7]);
    expect(after.last('a')).toEqual({ led: true });
    expect(after.etag('a')?.equals(before.etag('a') as Buffer)).toBe(true);
    // Nothing sent since the restore: what it saves is what the device may have seen, not the jump.
    expect(after.saved().get('a')?.sequence).toBe(sent);
    expect(after.nextSequence('a')).toBe(sent + RESTORED_SEQUENCE_JUMP + 1);
    // A new command gets an ETag of this run, never the one the device holds.
    after.setLastCommand('a', { led: false });
    expect(after.etag('a')?.equals(before.etag('a') as Buffer)).toBe(false);
  });

  it('keeps restored sequence numbers newer for the device across the 24-bit wrap and a save that lagged', () => {
    // RFC 7641 §4.4, within 128 s: whether a client that has seen `v1` takes `v2` as newer.
    const newer = (v1: number, v2: number) => (v1 < v2 && v2 - v1 < 2 ** 23) || (v1 > v2 && v1 - v2 > 2 ** 23);
    for (const saved of [1, 0xfffff0, 0xffffff, 0x7fffff]) {
      const o = new CommandObservers(10);
      o.restore('a', { observers: [], sequence: saved, command: undefined });
      const next = o.nextSequence('a');
      // The device saw `saved`, or up to a thousand numbers more that the last save did not get.
      for (const seen of [saved, (saved + 1000) & 0xffffff]) expect(newer(seen, next), `${seen} -> ${next}`).toBe(true);
    }
  });

  it('restores nothing over what a device already has', () => {
    const o = new CommandObservers(10);
    o.add('a', observer(1, 1));
    expect(o.restore('a', { observers: [observer(2, 2)], sequence: 5, command: undefined })).toBe(0);
    expect(o.of('a').map((r) => r.peer.port)).toEqual([1]);
  });
});
