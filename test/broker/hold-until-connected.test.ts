// holdUntilConnected on its own: what it hands on when aedes says the client is connected, and what it drops.
import { EventEmitter } from 'node:events';
import type { AedesPublishPacket, Client } from 'aedes';
import { describe, expect, it, vi } from 'vitest';
import { holdUntilConnected, noteResending } from '../../gateway/broker/ordered-resume.js';

type Deliver = (packet: AedesPublishPacket, cb: () => void) => void;

function packet(counter: number, qos: 0 | 1): AedesPublishPacket {
  return {
    cmd: 'publish',
    topic: 't',
    payload: Buffer.from(String(counter)),
    qos,
    retain: false,
    dup: false,
    brokerId: 'b',
    brokerCounter: counter,
  } as unknown as AedesPublishPacket;
}

/** A client with the two delivery functions aedes gives it, recording what reaches them. */
function clientUnderTest(limit = 10, lingerMs?: number) {
  const reached: Array<[string, number]> = [];
  const dropped: number[] = [];
  const record =
    (via: string): Deliver =>
    (p, cb) => {
      reached.push([via, (p as unknown as { brokerCounter: number }).brokerCounter]);
      cb();
    };
  const client = Object.assign(new EventEmitter(), { deliver0: record('deliver0'), deliverQoS: record('deliverQoS') });
  holdUntilConnected(
    client as unknown as Client,
    limit,
    (p) => dropped.push((p as unknown as { brokerCounter: number }).brokerCounter),
    lingerMs,
  );
  const deliver = (via: 'deliver0' | 'deliverQoS', p: AedesPublishPacket) =>
    new Promise<void>((resolve) => (client[via] as Deliver)(p, resolve));
  return { client, reached, dropped, deliver };
}

describe('holdUntilConnected', () => {
  it('hands held deliveries on in order once connected, except those the stored queue carried', async () => {
    const { client, reached, deliver } = clientUnderTest();
    await deliver('deliverQoS', packet(1, 1));
    await deliver('deliver0', packet(2, 0));
    await deliver('deliverQoS', packet(3, 1));
    await deliver('deliverQoS', packet(4, 1));
    expect(reached).toEqual([]);
    // The stored queue aedes streams holds 1 and 3 (queued before it was read), and older ones.
    noteResending(client, [packet(0, 1), packet(1, 1), packet(3, 1)]);
    client.emit('connected');
    expect(reached).toEqual([
      ['deliver0', 2],
      ['deliverQoS', 4],
    ]);
    // From now on deliveries go straight through.
    await deliver('deliverQoS', packet(5, 1));
    expect(reached.at(-1)).toEqual(['deliverQoS', 5]);
  });

  it('holds twice the limit of QoS 1 deliveries and the limit of QoS 0 ones, and reports the QoS 0 ones past it', async () => {
    const { client, reached, dropped, deliver } = clientUnderTest(2);
    for (const n of [1, 2, 3, 4, 5]) await deliver('deliverQoS', packet(n, 1));
    for (const n of [6, 7, 8, 9]) await deliver('deliver0', packet(n, 0));
    // A QoS 1 message subscribed at QoS 0 comes through deliver0: it counts, and is reported, as QoS 0.
    await deliver('deliver0', packet(10, 1));
    expect(dropped).toEqual([8, 9, 10]);
    client.emit('connected');
    expect(reached.map(([, n]) => n)).toEqual([1, 2, 3, 4, 6, 7]);
  });

  it("keeps its held deliveries when the stored queue read is another connection's", async () => {
    const { client, reached, deliver } = clientUnderTest();
    await deliver('deliverQoS', packet(1, 1));
    noteResending({}, [packet(1, 1)]);
    client.emit('connected');
    expect(reached).toEqual([['deliverQoS', 1]]);
  });

  it('skips a late delivery of a message the stored queue carried, for the linger time after the release', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const { client, reached, deliver } = clientUnderTest(10, 30_000);
      noteResending(client, [packet(1, 1), packet(2, 1)]);
      client.emit('connected');
      // The broker's routing queue was behind: the deliveries of 2 and 3 come after the release.
      await deliver('deliverQoS', packet(2, 1));
      await deliver('deliverQoS', packet(3, 1));
      expect(reached).toEqual([['deliverQoS', 3]]);
      vi.advanceTimersByTime(29_999);
      await deliver('deliverQoS', packet(1, 1));
      expect(reached).toEqual([['deliverQoS', 3]]);
      vi.advanceTimersByTime(1);
      await deliver('deliverQoS', packet(1, 1));
      expect(reached).toEqual([
        ['deliverQoS', 3],
        ['deliverQoS', 1],
      ]);
    } finally {
      vi.useRealTimers();
    }
  });
});
