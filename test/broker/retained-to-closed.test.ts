// A client that subscribes to `#` and goes away while its retained messages are being sent: the broker stops
// sending them. aedes went on through every retained message after the close, each failing with a new Error and an
// Immediate (about 1 KB each): clients that subscribe to `#` and drop, faster than that drained, grew the heap by
// gigabytes in a soak test.
import { afterEach, describe, expect, it } from 'vitest';
import { JournalPersistence } from '../../gateway/broker/persistence.js';
import { startTestBroker, type TestBroker } from './helpers.js';

const RETAINED = 3000;

describe('retained messages for a SUBSCRIBE', () => {
  let tb: TestBroker | undefined;
  let restore: (() => void) | undefined;
  afterEach(async () => {
    restore?.();
    restore = undefined;
    await tb?.dispose();
    tb = undefined;
  });

  it('stop when the subscriber has closed its connection', async () => {
    tb = await startTestBroker();
    const publisher = await tb.connect();
    for (let i = 0; i < RETAINED; i++) publisher.publish(`t/${i}`, `v${i}`, { retain: true, qos: 0 });
    await publisher.publishAsync('t/last', 'done', { retain: true, qos: 1 });
    await expect.poll(() => tb?.broker.retained('t/last')?.toString()).toBe('done');

    // Counts what the broker pulls from the retained stream of the next SUBSCRIBE.
    const original = JournalPersistence.prototype.createRetainedStreamCombi;
    let pulled = 0;
    let ended: Promise<void> | undefined;
    JournalPersistence.prototype.createRetainedStreamCombi = function (this: JournalPersistence, patterns: string[]) {
      const stream = original.call(this, patterns);
      stream.on('data', () => pulled++);
      ended = new Promise((resolve) => stream.once('close', () => resolve()));
      return stream;
    };
    restore = () => {
      JournalPersistence.prototype.createRetainedStreamCombi = original;
    };

    const subscriber = await tb.connect();
    const first = new Promise<void>((resolve) => subscriber.once('message', () => resolve()));
    subscriber.subscribe('#');
    await first;
    subscriber.stream.destroy();
    await expect.poll(() => ended !== undefined, { timeout: 5000 }).toBe(true);
    await ended;
    expect(pulled).toBeGreaterThan(0);
    expect(pulled).toBeLessThan(RETAINED / 2);
  });

  it('are all sent to a subscriber that stays', async () => {
    tb = await startTestBroker();
    const publisher = await tb.connect();
    for (let i = 0; i < 200; i++) publisher.publish(`r/${i}`, `v${i}`, { retain: true, qos: 0 });
    await publisher.publishAsync('r/last', 'done', { retain: true, qos: 1 });
    const subscriber = await tb.connect();
    const seen = new Set<string>();
    subscriber.on('message', (topic) => seen.add(topic));
    await subscriber.subscribeAsync('r/#');
    await expect.poll(() => seen.size).toBe(201);
  });
});
