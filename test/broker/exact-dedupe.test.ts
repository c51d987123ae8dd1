import type { AedesPublishPacket, Client } from 'aedes';
import { describe, expect, it } from 'vitest';
import { exactDedupe } from '../../gateway/broker/forward.js';

type Deliver = (packet: AedesPublishPacket, cb: () => void) => void;

/** The three client fields exactDedupe wraps, recording what reaches the real delivery functions. */
function fakeClient(): { client: Client; delivered: string[]; deliver0: Deliver } {
  const delivered: string[] = [];
  const record: Deliver = (packet, cb) => {
    const p = packet as AedesPublishPacket & { brokerId: string; brokerCounter: number };
    delivered.push(`${p.brokerId}:${p.brokerCounter}`);
    cb();
  };
  const target = { deliver0: record, deliverQoS: record, duplicates: {} as Record<string, number> };
  exactDedupe(target as unknown as Client);
  return { client: target as unknown as Client, delivered, deliver0: target.deliver0 };
}

function packet(brokerId: string, brokerCounter: number): AedesPublishPacket {
  return {
    cmd: 'publish',
    topic: 't',
    payload: Buffer.alloc(0),
    qos: 0,
    retain: false,
    dup: false,
    brokerId,
    brokerCounter,
  } as unknown as AedesPublishPacket;
}

describe('exactDedupe', () => {
  it('drops a repeated (broker id, counter) within the window, per broker id, and forgets beyond 1024', async () => {
    const { delivered, deliver0 } = fakeClient();
    const send = (id: string, counter: number) =>
      new Promise<void>((resolve) => deliver0(packet(id, counter), resolve));
    await send('a', 1);
    await send('b', 1); // same counter, other broker: a different message
    await send('a', 1); // duplicate
    expect(delivered).toEqual(['a:1', 'b:1']);
    // 1,100 more distinct messages from two brokers push a:1 and b:1 out of the window.
    for (let i = 2; i < 552; i++) {
      await send('a', i);
      await send('b', i);
    }
    expect(delivered).toHaveLength(2 + 1100);
    await send('a', 551); // still inside the window
    expect(delivered).toHaveLength(1102);
    await send('a', 1); // forgotten: delivered again (aedes' own counter check is bypassed on purpose)
    await send('b', 1);
    expect(delivered.slice(-2)).toEqual(['a:1', 'b:1']);
  });
});
