// A local topic the upstream would close the connection on (U+0000, control characters...) is never queued for it,
// whoever published it: one such message would be resent on every reconnect. The local publish goes on.
import { describe, expect, it } from 'vitest';
import type { BrokerMessage } from '../../gateway/broker/types.js';
import { upstreamConfigSchema } from '../../gateway/upstream/config.js';
import type { AppendResult, DiskQueue } from '../../gateway/upstream/queue/disk-queue.js';
import { localToQueueFor } from './local-to-queue-helpers.js';

function setup() {
  const config = upstreamConfigSchema.parse({ enabled: true, topics: [{ pattern: '#', direction: 'out', qos: 1 }] });
  const queued: string[] = [];
  const refused: Array<{ topic: string; reason: string; own: boolean }> = [];
  const queue = {
    appendThen(topic: string, _payload: Buffer, _qos: number, _retain: boolean, done: (r: AppendResult) => void) {
      queued.push(topic);
      done('queued');
    },
  } as unknown as DiskQueue;
  const toQueue = localToQueueFor(config, queue, (topic, reason, own) => refused.push({ topic, reason, own }));
  const publish = (topic: string): Promise<Error | undefined> => {
    const msg: BrokerMessage = { topic, payload: Buffer.from('x'), qos: 1, retain: false };
    return new Promise((resolve) => toQueue.intercept(msg, resolve));
  };
  return { queued, refused, publish };
}

describe('LocalToQueue: topics the upstream would refuse', () => {
  it('lets the local publish go on but queues nothing, and says why, every time', async () => {
    const { queued, refused, publish } = setup();
    for (let i = 0; i < 2; i++) {
      expect(await publish('zephyr2mqtt/bad\0x')).toBeUndefined();
      expect(await publish('zephyr2mqtt/ctl\u0001')).toBeUndefined();
      expect(await publish('zephyr2mqtt/lone\uD800')).toBeUndefined();
    }
    expect(queued).toEqual([]);
    expect(refused.map((r) => r.topic)).toEqual([
      'zephyr2mqtt/bad\0x',
      'zephyr2mqtt/ctl\u0001',
      'zephyr2mqtt/lone\uD800',
      'zephyr2mqtt/bad\0x',
      'zephyr2mqtt/ctl\u0001',
      'zephyr2mqtt/lone\uD800',
    ]);
    expect(refused[0]).toEqual({
      topic: 'zephyr2mqtt/bad\0x',
      reason: expect.stringMatching(/^upstream topic "site-12\/bad\\u0000x" contains U\+0000: /),
      own: false,
    });
  });

  it('queues valid topics, non-ASCII and U+FFFD included', async () => {
    const { queued, refused, publish } = setup();
    for (const topic of ['zephyr2mqtt/°C/ü', 'zephyr2mqtt/a/\uFFFD', 'zephyr2mqtt/😀']) {
      expect(await publish(topic)).toBeUndefined();
    }
    expect(queued).toEqual(['site-12/°C/ü', 'site-12/a/\uFFFD', 'site-12/😀']);
    expect(refused).toEqual([]);
  });
});
