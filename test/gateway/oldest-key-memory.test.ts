// Maps evicted through OldestKey must not grow with churn below their capacity: a live iterator that never moves
// keeps every hash table the map had since (the BLE advertiser cache grew ~75 bytes per advert, CoAP block-wise
// reassembly kept every upload's blocks).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { AdvertiserCache } from '../../adapters/ble/advertiser-cache.js';
import { BoundedExpiringMap } from '../../adapters/coap/transport/bounded-map.js';
import { OldestKey } from '../../gateway/oldest-key.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap growth in MB that survives a full collection, over `work`. */
function retainedBy(work: () => void): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  work();
  gc();
  return (process.memoryUsage().heapUsed - before) / 1048576;
}

const CHURN = 300_000;

describe('OldestKey and the maps it evicts from', () => {
  it('a BLE advertiser cache below its capacity keeps nothing per sighting', () => {
    const cache = new AdvertiserCache(1000);
    const grown = retainedBy(() => {
      for (let i = 0; i < CHURN; i++) cache.touch(`AA:BB:CC:DD:EE:${(i % 30).toString(16).padStart(2, '0')}`, i);
    });
    expect(cache.size).toBe(30);
    expect(grown).toBeLessThan(2);
  });

  it('a bounded map whose entries are deleted before it fills keeps nothing per entry', () => {
    const map = new BoundedExpiringMap<number, Buffer>(256, 60_000);
    const block = Buffer.alloc(1024);
    const grown = retainedBy(() => {
      for (let i = 0; i < CHURN / 3; i++) {
        map.set(i, block);
        map.set(i + 1, block); // two uploads interleaved, each deleted when it completes
        map.delete(i);
        map.delete(i + 1);
      }
    });
    expect(grown).toBeLessThan(2);
  });

  it('still evicts the oldest live key once full, and again after a release', () => {
    const map = new Map<number, true>();
    const oldest = new OldestKey(map);
    for (let i = 0; i < 5; i++) map.set(i, true);
    map.delete(1);
    expect(oldest.take()).toBe(0);
    map.delete(0);
    oldest.release();
    map.set(9, true);
    expect(oldest.take()).toBe(2);
  });
});
