import { getHeapSpaceStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { HeapGuard } from '../../gateway/upstream/heap-guard.js';

const oldUsed = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_used_size ?? 0;

/** Garbage in the old generation: objects kept alive long enough to be promoted, then dropped. */
function promoteGarbage(): void {
  let keep: Array<{ i: number; s: string }> = [];
  for (let i = 0; i < 400_000; i++) keep.push({ i, s: `x${i}` });
  expect(keep.length).toBe(400_000);
  keep = [];
}

describe('HeapGuard', () => {
  it('collects once the old generation grew by the threshold while active, never while inactive', () => {
    let active = false;
    const guard = new HeapGuard(() => active, 4 * 1024 * 1024);
    guard.start();
    try {
      guard.check();
      promoteGarbage();
      guard.check();
      expect(guard.collections).toBe(0); // no backlog: left to V8

      active = true;
      guard.check(); // the growth since the (lowest) base counts once active
      promoteGarbage();
      guard.check();
      expect(guard.collections).toBeGreaterThanOrEqual(1);
      const after = oldUsed();
      const collections = guard.collections;
      guard.check();
      expect(guard.collections).toBe(collections); // nothing grew since
      expect(oldUsed()).toBeLessThan(after + 4 * 1024 * 1024);
    } finally {
      guard.stop();
    }
  });
});
