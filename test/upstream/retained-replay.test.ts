// The local retained messages queued for a new or switched upstream (LocalToQueue.replayRetained): only topics an
// `out` mapping selects and no `in` mapping takes, never the gateway's own reports, always retained, and nothing
// when the copies would take the queue past half its max_bytes (device messages are never dropped for copies).
import { describe, expect, it } from 'vitest';
import type { BrokerMessage } from '../../gateway/broker/types.js';
import { upstreamConfigSchema } from '../../gateway/upstream/config.js';
import type { DiskQueue } from '../../gateway/upstream/queue/disk-queue.js';
import { localToQueueFor } from './local-to-queue-helpers.js';

const MB = 1024 * 1024;

function setup(queuedBytes: number) {
  const config = upstreamConfigSchema.parse({
    enabled: true,
    topics: [
      { pattern: '#', direction: 'out', qos: 1 },
      { pattern: '+/set', direction: 'in', qos: 1 },
    ],
    queue: { max_bytes: 2 * MB },
  });
  const queued: Array<{ topic: string; retain: boolean }> = [];
  const queue = {
    appendThen(topic: string, _payload: Buffer, _qos: number, retain: boolean) {
      queued.push({ topic, retain });
    },
    stats: () => ({ bytes: queuedBytes }),
  } as unknown as DiskQueue;
  return { toQueue: localToQueueFor(config, queue), queued };
}

const retained = (topic: string, bytes = 10): BrokerMessage => ({
  topic,
  payload: Buffer.alloc(bytes, 0x31),
  qos: 0,
  retain: true,
});

describe('LocalToQueue.replayRetained', () => {
  it('queues the retained device topics as retained, not commands, own reports or unmapped topics', () => {
    const { toQueue, queued } = setup(0);
    const result = toQueue.replayRetained([
      retained('zephyr2mqtt/kitchen'),
      retained('zephyr2mqtt/kitchen/availability'),
      retained('zephyr2mqtt/kitchen/set'),
      retained('zephyr2mqtt/bridge/info'),
      retained('elsewhere/topic'),
    ]);
    expect(result).toEqual({ queued: 2 });
    expect(queued).toEqual([
      { topic: 'site-12/kitchen', retain: true },
      { topic: 'site-12/kitchen/availability', retain: true },
    ]);
  });

  it('queues nothing when the copies would take the queue past half its max_bytes', () => {
    const many = Array.from({ length: 100 }, (_, i) => retained(`zephyr2mqtt/d${i}`, 1000));
    expect(setup(0).toQueue.replayRetained(many)).toEqual({ queued: 100 });
    const full = setup(MB - 50_000);
    expect(full.toQueue.replayRetained(many)).toEqual({ skipped: 100 });
    expect(full.queued).toEqual([]);
  });
});
