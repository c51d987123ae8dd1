import { afterEach, describe, expect, it, vi } from 'vitest';
import { DedupCache, PENDING } from '../../../adapters/coap/transport/dedup-cache.js';

const ack = (mid: number, token = 'a1b2c3d4'): Buffer => {
  const bytes = Buffer.alloc(4 + token.length / 2);
  bytes[0] = 0x60 | (token.length / 2);
  bytes[1] = 0x44;
  bytes.writeUInt16BE(mid, 2);
  Buffer.from(token, 'hex').copy(bytes, 4);
  return bytes;
};

describe('DedupCache', () => {
  it('returns what was stored per peer and message id: PENDING, short answers and long answers', () => {
    const cache = new DedupCache(10, 60_000);
    const long = Buffer.alloc(200, 7);
    cache.set('10.0.0.1|5683', 1, PENDING);
    cache.set('10.0.0.1|5683', 2, ack(2));
    cache.set('10.0.0.2|5683', 1, long);
    expect(cache.get('10.0.0.1|5683', 1)).toBe(PENDING);
    expect(cache.get('10.0.0.1|5683', 2)).toEqual(ack(2));
    expect(cache.get('10.0.0.2|5683', 1)).toEqual(long);
    expect(cache.get('10.0.0.2|5683', 2)).toBeUndefined();
    expect(cache.get('10.0.0.3|5683', 1)).toBeUndefined();
    // PENDING -> answer (the asynchronous handler path) replaces in place.
    cache.set('10.0.0.1|5683', 1, ack(1, '00'));
    expect(cache.get('10.0.0.1|5683', 1)).toEqual(ack(1, '00'));
    expect(cache.size).toBe(3);
  });

  it('keeps at most capacity entries and evicts the oldest first, through many wraps of the ring', () => {
    const cache = new DedupCache(100, 60_000);
    for (let i = 0; i < 10_000; i++) cache.set(`10.0.${i % 7}.1|5683`, i & 0xffff, ack(i & 0xffff));
    expect(cache.size).toBe(100);
    for (let i = 9_900; i < 10_000; i++) expect(cache.get(`10.0.${i % 7}.1|5683`, i)).toEqual(ack(i));
    expect(cache.get(`10.0.${9_899 % 7}.1|5683`, 9_899)).toBeUndefined();
  });

  it('gives every one of capacity distinct peers its own entries and reuses peer ids after eviction', () => {
    const cache = new DedupCache(50, 60_000);
    for (let round = 0; round < 5; round++) {
      for (let p = 0; p < 50; p++) cache.set(`[fe80::${round}:${p}%eth0]|5683`, p, ack(p + round));
      for (let p = 0; p < 50; p++) expect(cache.get(`[fe80::${round}:${p}%eth0]|5683`, p)).toEqual(ack(p + round));
      if (round > 0) expect(cache.get(`[fe80::${round - 1}:0%eth0]|5683`, 0)).toBeUndefined();
      expect(cache.size).toBe(50);
    }
  });

  it('keeps the entries of a peer below its fair share while another peer floods the full cache', () => {
    const cache = new DedupCache(100, 60_000);
    for (let mid = 0; mid < 5; mid++) cache.set('quiet|5683', mid, ack(mid));
    for (let i = 0; i < 10_000; i++) cache.set('flood|5683', i & 0xffff, ack(i & 0xffff));
    expect(cache.size).toBe(100);
    for (let mid = 0; mid < 5; mid++) expect(cache.get('quiet|5683', mid)).toEqual(ack(mid));
    // The flooding peer keeps its newest, oldest first out.
    for (let i = 9_905; i < 10_000; i++) expect(cache.get('flood|5683', i)).toEqual(ack(i));
    expect(cache.get('flood|5683', 9_904)).toBeUndefined();
    // A third peer arrives: the quiet one is still below its share (33) and keeps its entries.
    for (let mid = 0; mid < 40; mid++) cache.set('late|5683', mid, ack(mid));
    for (let mid = 0; mid < 5; mid++) expect(cache.get('quiet|5683', mid)).toEqual(ack(mid));
    for (let mid = 0; mid < 40; mid++) expect(cache.get('late|5683', mid)).toEqual(ack(mid));
    expect(cache.size).toBe(100);
  });

  it('lets the entries of a peer below its share go when they expire', () => {
    let now = 0;
    const cache = new DedupCache(10, 1000, () => now);
    cache.set('quiet', 1, ack(1));
    now = 500;
    for (let i = 0; i < 20; i++) cache.set('flood', i, ack(i));
    expect(cache.get('quiet', 1)).toEqual(ack(1));
    now = 1000;
    for (let i = 20; i < 40; i++) cache.set('flood', i, ack(i));
    expect(cache.get('quiet', 1)).toBeUndefined();
    for (let i = 30; i < 40; i++) expect(cache.get('flood', i)).toEqual(ack(i));
    expect(cache.size).toBe(10);
  });

  it('expires entries after the ttl, on lookup and by sweep, and then takes new ones', () => {
    let now = 0;
    const cache = new DedupCache(4, 1000, () => now);
    cache.set('a', 1, ack(1));
    cache.set('a', 2, ack(2));
    now = 500;
    cache.set('b', 1, ack(3));
    now = 1000;
    expect(cache.get('a', 1)).toBeUndefined(); // expired at 1000
    cache.sweep(); // a#2 too; b#1 lives until 1500
    expect(cache.size).toBe(1);
    expect(cache.get('b', 1)).toEqual(ack(3));
    for (let i = 10; i < 14; i++) cache.set('c', i, ack(i));
    expect(cache.size).toBe(4);
    // b is below its share (2 of 4): c's fourth entry pushes out c's own oldest.
    expect(cache.get('b', 1)).toEqual(ack(3));
    expect(cache.get('c', 10)).toBeUndefined();
    expect(cache.get('c', 13)).toEqual(ack(13));
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('c', 13)).toBeUndefined();
    cache.set('c', 13, PENDING);
    expect(cache.get('c', 13)).toBe(PENDING);
  });

  describe('on its default clock', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    // vi.setSystemTime steps Date alone (NTP setting the clock of a Pi that booted at an old time).
    it('expires entries after the ttl of elapsed time, whatever the wall clock does', () => {
      vi.useFakeTimers({ toFake: ['Date', 'performance'] });
      const cache = new DedupCache(4, 247_000);
      cache.set('[::1]|5683', 7, ack(7));
      vi.setSystemTime(Date.now() - 2 * 3_600_000);
      vi.advanceTimersByTime(246_999);
      expect(cache.get('[::1]|5683', 7)).toEqual(ack(7));
      vi.advanceTimersByTime(30_000); // 4.5 min after the first: the same message id is a new request
      expect(cache.get('[::1]|5683', 7)).toBeUndefined();
      cache.set('[::1]|5683', 8, ack(8));
      vi.setSystemTime(Date.now() + 2 * 3_600_000);
      expect(cache.get('[::1]|5683', 8)).toEqual(ack(8));
      cache.sweep();
      expect(cache.size).toBe(1);
    });
  });
});
