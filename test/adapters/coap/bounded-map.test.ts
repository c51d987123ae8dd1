import { afterEach, describe, expect, it, vi } from 'vitest';
import { BoundedExpiringMap } from '../../../adapters/coap/transport/bounded-map.js';

function keys(map: BoundedExpiringMap<string, number>, candidates: Iterable<string>): string[] {
  return [...candidates].filter((k) => map.get(k) !== undefined);
}

describe('BoundedExpiringMap', () => {
  it('evicts the oldest insertion first, through many fill and evict cycles', () => {
    const map = new BoundedExpiringMap<string, number>(100, 60_000);
    // Far more inserts than the limit, so the eviction cursor walks the table through several V8 rehashes.
    for (let i = 0; i < 10_000; i++) map.set(`k${i}`, i);
    expect(map.size).toBe(100);
    expect(map.get('k9899')).toBeUndefined();
    expect(map.get('k9900')).toBe(9900);
    expect(map.get('k9999')).toBe(9999);
  });

  it('treats a re-set key as the newest and skips deleted keys when evicting', () => {
    const map = new BoundedExpiringMap<string, number>(3, 60_000);
    map.set('a', 1);
    map.set('b', 2);
    map.set('c', 3);
    map.set('a', 4); // a moves behind c
    map.delete('b');
    map.set('d', 5); // 3 entries: c, a, d
    map.set('e', 6); // evicts c
    expect(keys(map, ['a', 'b', 'c', 'd', 'e'])).toEqual(['a', 'd', 'e']);
    expect(map.get('a')).toBe(4);
    map.set('f', 7); // evicts a
    expect(keys(map, ['a', 'd', 'e', 'f'])).toEqual(['d', 'e', 'f']);
  });

  it('keeps evicting in order after clear and after sweeping expired entries', () => {
    let now = 0;
    const map = new BoundedExpiringMap<string, number>(2, 1000, () => now);
    map.set('x', 1);
    map.set('y', 2);
    map.clear();
    map.set('p', 1);
    map.set('q', 2);
    map.set('r', 3); // evicts p
    expect(keys(map, ['p', 'q', 'r'])).toEqual(['q', 'r']);
    now = 2000;
    map.sweep();
    expect(map.size).toBe(0);
    map.set('s', 4);
    map.set('t', 5);
    map.set('u', 6); // evicts s
    expect(keys(map, ['s', 't', 'u'])).toEqual(['t', 'u']);
    now = 2500;
    expect(map.get('t')).toBe(5);
    now = 3001;
    expect(map.get('t')).toBeUndefined();
  });

  it('tells of the entries it drops on its own (evicted or expired), not of those deleted or cleared', () => {
    let now = 0;
    const dropped: string[] = [];
    const map = new BoundedExpiringMap<string, number>(
      2,
      1000,
      () => now,
      (key, value) => dropped.push(`${key}=${value}`),
    );
    map.set('a', 1);
    map.set('b', 2);
    map.set('a', 3); // replaced, not dropped
    map.set('c', 4); // evicts b
    map.delete('c');
    now = 1500;
    map.set('d', 5);
    expect(map.get('a')).toBeUndefined(); // expired
    map.set('e', 6);
    now = 3000;
    map.sweep(); // d and e
    map.set('f', 7);
    map.clear();
    expect(dropped).toEqual(['b=2', 'a=3', 'd=5', 'e=6']);
  });

  describe('on its default clock', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    // vi.setSystemTime steps Date alone (NTP setting the clock of a Pi that booted at an old time).
    it('expires entries after the ttl of elapsed time, whatever the wall clock does', () => {
      vi.useFakeTimers({ toFake: ['Date', 'performance'] });
      const map = new BoundedExpiringMap<string, number>(4, 60_000);
      map.set('back', 1);
      vi.setSystemTime(Date.now() - 2 * 3_600_000);
      vi.advanceTimersByTime(59_999);
      expect(map.get('back')).toBe(1);
      vi.advanceTimersByTime(1);
      expect(map.get('back')).toBeUndefined();
      map.set('forward', 2);
      vi.setSystemTime(Date.now() + 2 * 3_600_000);
      map.sweep();
      expect(map.get('forward')).toBe(2);
    });
  });
});
