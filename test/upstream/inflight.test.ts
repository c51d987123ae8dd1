import { describe, expect, it } from 'vitest';
import { InflightWindow } from '../../gateway/upstream/queue/inflight.js';

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
});
