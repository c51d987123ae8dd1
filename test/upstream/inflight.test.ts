import { describe, expect, it } from 'vitest';
import { ACKNOWLEDGED, InflightWindow } from '../../gateway/upstream/queue/inflight.js';

describe('InflightWindow', () => {
  it('keeps the oldest unacknowledged record first whatever order the acknowledgements come in', () => {
    const w = new InflightWindow();
    // Gaps in seq (records skipped as expired) and more than the initial capacity, wrapping the ring.
    const seqs: number[] = [];
    for (let s = 0, k = 0; k < 1000; k++, s += 1 + (k % 3 === 0 ? 1 : 0)) seqs.push(s);
    const reference = new Map<number, number>();
    let next = 0;
    const pushTo = (n: number) => {
      for (; next < n; next++) {
        const seq = seqs[next]!;
        w.push(seq, 7, seq * 10, 1000 + seq);
        reference.set(seq, seq);
      }
    };
    pushTo(200);
    let step = 0;
    while (reference.size > 0 || next < seqs.length) {
      if (next < seqs.length && step % 3 !== 2) pushTo(Math.min(seqs.length, next + 7));
      // Acknowledge a pseudo-random live record.
      const live = [...reference.keys()];
      const pick = live[(step * 7919) % live.length];
      if (pick !== undefined) {
        expect(w.delete(pick)).toBe(true);
        expect(w.delete(pick)).toBe(false);
        reference.delete(pick);
      }
      expect(w.size).toBe(reference.size);
      const oldest = reference.size > 0 ? Math.min(...reference.keys()) : undefined;
      expect(w.first()?.seq).toBe(oldest);
      if (oldest !== undefined)
        expect(w.first()).toEqual({ seq: oldest, segFirst: 7, offset: oldest * 10, ts: 1000 + oldest });
      step++;
    }
    expect(w.delete(12345)).toBe(false);
  });

  it('dropBelow forgets records of a dropped segment; clear forgets everything', () => {
    const w = new InflightWindow();
    for (let s = 0; s < 10; s++) w.push(s, s < 5 ? 0 : 5, s, s);
    w.delete(6);
    w.dropBelow(5);
    expect(w.size).toBe(4);
    expect(w.first()?.seq).toBe(5);
    w.delete(5);
    expect(w.first()?.seq).toBe(7);
    w.clear();
    expect([w.size, w.first()]).toEqual([0, undefined]);
    w.push(100, 100, 0, 0);
    expect(w.first()?.seq).toBe(100);
  });

  it('a rewind keeps, for the next pass, which records were acknowledged and the packet id the others were sent with', () => {
    const w = new InflightWindow();
    for (let s = 0; s < 5; s++) w.push(s, 0, s, s);
    for (let s = 0; s < 5; s++) w.sentWith(s, 100 + s);
    w.delete(1);
    w.delete(3);
    w.rewind();
    expect([w.size, w.first()]).toEqual([0, undefined]);
    // The next pass reaches 2, then the connection drops again: the second rewind keeps both passes.
    for (let s = 0; s < 3; s++) w.push(s, 0, s, s, w.lastSent(s));
    expect(w.size).toBe(2);
    w.sentWith(2, 7);
    w.delete(4); // not passed again yet
    w.rewind();
    expect([0, 1, 2, 3, 4, 5].map((s) => w.lastSent(s))).toEqual([100, ACKNOWLEDGED, 7, ACKNOWLEDGED, ACKNOWLEDGED, 0]);
    w.clear();
    expect(w.lastSent(0)).toBe(0);
  });
});
