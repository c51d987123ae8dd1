import { afterEach, describe, expect, it } from 'vitest';
import { createMessageQueue, FifoQueue } from '../../gateway/broker/message-queue.js';
import { collect, endClients, startTestBroker, type TestBroker } from './helpers.js';

describe('FifoQueue', () => {
  it('keeps first-in first-out order and its length through interleaved pushes and shifts', () => {
    const queue = new FifoQueue<number>();
    const reference: number[] = [];
    let next = 0;
    // Bursts larger than the compaction threshold, drained partly and then fully.
    for (let round = 0; round < 20; round++) {
      const pushes = 500 + ((round * 977) % 3000);
      for (let i = 0; i < pushes; i++) {
        queue.push(next);
        reference.push(next++);
      }
      const shifts = round % 3 === 2 ? reference.length : Math.floor(pushes * 0.7);
      for (let i = 0; i < shifts; i++) expect(queue.shift()).toBe(reference.shift());
      expect(queue.length).toBe(reference.length);
    }
    while (reference.length > 0) expect(queue.shift()).toBe(reference.shift());
    expect(queue.length).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });
});

describe('createMessageQueue', () => {
  it('queues messages beyond its concurrency and delivers every one in order', async () => {
    const mq = createMessageQueue(10);
    const seen: number[] = [];
    await new Promise<void>((resolve) =>
      mq.on(
        'a/+',
        (message, done) => {
          seen.push(message.n as number);
          setImmediate(done);
        },
        resolve,
      ),
    );
    const total = 5000;
    let completed = 0;
    const finished = new Promise<void>((resolve) => {
      for (let n = 0; n < total; n++)
        mq.emit({ topic: `a/${n % 7}`, n }, () => {
          if (++completed === total) resolve();
        });
    });
    // Everything beyond the first 10 waits in the queue.
    expect((mq as unknown as { length: number }).length).toBe(total - 10);
    await finished;
    expect(seen).toEqual(Array.from({ length: total }, (_, n) => n));
    expect((mq as unknown as { length: number }).length).toBe(0);
    await new Promise<void>((resolve) => mq.close(resolve));
  });
  it('works through a backlog of messages whose subscribers finish at once without growing the stack', async () => {
    // One slow delivery holds the only slot while 50k messages queue behind it; each of them then completes inside
    // the completion of the one before (mqemitter's release), which overflowed the stack at about a thousand.
    const mq = createMessageQueue(1);
    const seen: number[] = [];
    await new Promise<void>((resolve) =>
      mq.on(
        'a/#',
        (message, done) => {
          seen.push(message.n as number);
          if (seen.length === 1) setImmediate(done);
          else done();
        },
        resolve,
      ),
    );
    const total = 50_000;
    let completed = 0;
    const finished = new Promise<void>((resolve) => {
      for (let n = 0; n < total; n++)
        mq.emit({ topic: n % 2 ? 'a/b' : 'none', n }, () => {
          if (++completed === total) resolve();
        });
    });
    await finished;
    expect(seen).toEqual(Array.from({ length: total / 2 }, (_, i) => 2 * i + 1));
    expect((mq as unknown as { length: number }).length).toBe(0);
    await new Promise<void>((resolve) => mq.close(resolve));
  });
});

describe('broker backlog', () => {
  let tb: TestBroker | undefined;
  afterEach(async () => {
    await endClients();
    await tb?.dispose();
    tb = undefined;
  });

  it('delivers a burst of retained state publishes to a subscriber completely and in order', async () => {
    tb = await startTestBroker({ persistence: true });
    const sub = await tb.connect();
    await sub.subscribeAsync('state/+');
    const got = collect(sub);
    const total = 3000;
    const broker = tb.broker;
    await Promise.all(
      Array.from({ length: total }, (_, n) => broker.publish(`state/d${n % 50}`, `{"n":${n}}`, { retain: true })),
    );
    const messages = await got.waitFor(total, 20_000);
    expect(messages.map((m) => JSON.parse(m.payload).n)).toEqual(Array.from({ length: total }, (_, n) => n));
  });
});
