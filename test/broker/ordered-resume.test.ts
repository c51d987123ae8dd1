// A resumed persistent session, through the real embedded broker, seen at the packet level: its stored messages come
// first and in order, then those published while they were sent [MQTT-4.6.0-6]; one sent before and not acknowledged
// comes again with DUP and its packet id [MQTT-3.3.1-1, MQTT-4.4.0-1]; QoS 0 messages held meanwhile are bounded.
import type { MqttClient } from 'mqtt';
import { generate, type IPublishPacket } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { collect, endClients, startTestBroker, type TestBroker } from './helpers.js';
import { RawSession } from './raw-session.js';

/** Over a loopback connection's kernel buffers when a few are queued: the broker's writes stall on a paused reader. */
const LARGE = 3 * 1024 * 1024;

function seqOf(p: IPublishPacket): number {
  return Number(Buffer.from(p.payload).subarray(0, 12).toString('latin1').split('#')[0]);
}

function received(raw: RawSession, topic: string): Array<{ seq: number; dup: boolean; messageId: number | undefined }> {
  return raw.publishes
    .filter((p) => p.topic === topic)
    .map((p) => ({ seq: seqOf(p), dup: p.dup, messageId: p.messageId }));
}

function payload(seq: number, size = 0): Buffer {
  const head = Buffer.from(`${seq}#`, 'latin1');
  return size <= head.length ? head : Buffer.concat([head, Buffer.alloc(size - head.length, 0x61)]);
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('resumed persistent session', () => {
  let tb: TestBroker | undefined;
  const raws: RawSession[] = [];
  afterEach(async () => {
    for (const r of raws.splice(0)) r.close();
    await endClients();
    await tb?.dispose();
    tb = undefined;
  });

  const port = () => Number(new URL((tb as TestBroker).url()).port);

  async function session(clientId: string, subs: Array<{ topic: string; qos: 0 | 1 | 2 }>, pause = false) {
    const raw = await RawSession.connect(port(), clientId, pause);
    raws.push(raw);
    if (subs.length > 0) await raw.subscribe(subs);
    return raw;
  }

  /** Leaves a stored session behind: subscribed, then gone. */
  async function storedSession(clientId: string, subs: Array<{ topic: string; qos: 0 | 1 }>): Promise<void> {
    await (await session(clientId, subs)).leave();
  }

  async function publishAll(pub: MqttClient, topic: string, seqs: number[], qos: 0 | 1 | 2, size = 0): Promise<void> {
    await Promise.all(seqs.map((seq) => pub.publishAsync(topic, payload(seq, size), { qos })));
  }

  it('sends the stored messages first, then those published while they went out, in one order', async () => {
    tb = await startTestBroker({ max_packet_size: 4 * 1024 * 1024 });
    await storedSession('resume-order', [{ topic: 'o/#', qos: 1 }]);
    const pub = await tb.connect();
    await publishAll(pub, 'o/t', range(0, 5), 1, LARGE);
    // Back, but not reading: the broker's writes of the stored messages stall while new ones are published.
    const raw = await session('resume-order', [], true);
    await publishAll(pub, 'o/t', range(5, 25), 1);
    raw.socket.resume();
    await raw.until('25 messages', () => raw.publishes.length >= 25);
    expect(received(raw, 'o/t').map((m) => m.seq)).toEqual(range(0, 25));
    // Acknowledged, nothing more is owed: a new message comes next.
    await raw.acknowledge(raw.publishes);
    await publishAll(pub, 'o/t', [25], 1);
    await raw.until('the 26th message', () => raw.publishes.length >= 26);
    expect(received(raw, 'o/t').map((m) => m.seq)).toEqual(range(0, 26));
  });

  it('sends an unacknowledged message again with DUP and its packet id, then the new ones without DUP', async () => {
    tb = await startTestBroker();
    const first = await session('resume-dup', [{ topic: 'd/#', qos: 1 }]);
    const pub = await tb.connect();
    await publishAll(pub, 'd/t', range(0, 5), 1);
    await first.until('5 messages', () => first.publishes.length >= 5);
    const sentFirst = received(first, 'd/t');
    expect(sentFirst.map((m) => [m.seq, m.dup])).toEqual(range(0, 5).map((seq) => [seq, false]));
    // The first two are acknowledged; the client leaves before it acknowledges the other three.
    await first.acknowledge(first.publishes.slice(0, 2));
    await first.leave();
    await publishAll(pub, 'd/t', range(5, 8), 1);

    const again = await session('resume-dup', []);
    await again.until('6 messages', () => again.publishes.length >= 6);
    expect(received(again, 'd/t')).toEqual([
      ...sentFirst.slice(2).map((m) => ({ ...m, dup: true })),
      ...range(5, 8).map((seq) => ({ seq, dup: false, messageId: expect.any(Number) })),
    ]);
  });

  it('sends each PUBREL again, and no PUBLISH, for QoS 2 messages whose PUBCOMP was not sent', async () => {
    tb = await startTestBroker();
    const first = await session('resume-qos2', [{ topic: 'e/#', qos: 2 }]);
    const pub = await tb.connect();
    await publishAll(pub, 'e/t', range(0, 3), 2);
    await first.until('3 messages', () => first.publishes.length >= 3);
    // All three get PUBREC and their PUBREL; the connection drops before any PUBCOMP [MQTT-4.3.3].
    await first.pubrec(first.publishes);
    const ids = first.publishes.map((p) => p.messageId);
    first.close();

    const again = await session('resume-qos2', []);
    await again.until('3 packets', () => again.pubrels.length + again.publishes.length >= 3);
    expect(again.pubrels).toEqual(ids);
    expect(again.publishes).toEqual([]);
    // Completed now: a new message is the only PUBLISH this connection gets.
    for (const messageId of again.pubrels) again.socket.write(generate({ cmd: 'pubcomp', messageId }));
    await publishAll(pub, 'e/t', [3], 2);
    await again.until('the new message', () => again.publishes.length >= 1);
    await again.acknowledge(again.publishes);
    expect(again.publishes.map(seqOf)).toEqual([3]);
    expect(again.pubrels).toEqual([...ids, again.publishes[0]?.messageId]);
  });

  it('sends a message queued at QoS 2 at the QoS 1 the subscription was granted, and forgets it at its PUBACK', async () => {
    tb = await startTestBroker();
    await storedSession('resume-grant', [{ topic: 'g/#', qos: 1 }]);
    const pub = await tb.connect();
    await publishAll(pub, 'g/t', [0], 2);
    const back = await session('resume-grant', []);
    await back.until('the message', () => back.publishes.length >= 1);
    expect(back.publishes.map((p) => [seqOf(p), p.qos])).toEqual([[0, 1]]);
    await back.acknowledge(back.publishes);
    back.close();
    // Acknowledged at QoS 1, it is gone from the session: the next return gets only a new message.
    await publishAll(pub, 'g/t', [1], 1);
    const again = await session('resume-grant', []);
    await again.until('a message', () => again.publishes.length >= 1);
    await again.acknowledge(again.publishes);
    expect(again.publishes.map((p) => [seqOf(p), p.qos])).toEqual([[1, 1]]);
  });

  it('holds QoS 0 messages published while the stored ones go out, up to max_queued, then drops and says so', async () => {
    tb = await startTestBroker({ max_packet_size: 4 * 1024 * 1024, max_queued: 3 });
    await storedSession('resume-qos0', [
      { topic: 'q/#', qos: 1 },
      { topic: 'z/#', qos: 0 },
    ]);
    const pub = await tb.connect();
    const watcher = await tb.connect();
    await watcher.subscribeAsync('z/#', { qos: 0 });
    const watched = collect(watcher);
    await publishAll(pub, 'q/t', range(0, 3), 1, LARGE);
    const raw = await session('resume-qos0', [], true);
    await publishAll(pub, 'z/t', range(0, 8), 0);
    // The broker routed all eight: a subscriber that is not resuming has them.
    await watched.waitFor(8);
    const dropped = tb.log.lines.filter((l) => l.msg.startsWith('QoS 0 message dropped'));
    expect(dropped).toHaveLength(5); // one per message dropped (under the rate limit of 5 a minute)
    for (const line of dropped) expect(line).toMatchObject({ clientId: 'resume-qos0', topic: 'z/t', max: 3 });
    raw.socket.resume();
    await raw.until('6 messages', () => raw.publishes.length >= 6);
    await raw.acknowledge(raw.publishes);
    // A marker shows that nothing else was on its way.
    await publishAll(pub, 'q/t', [3], 1);
    await raw.until('the marker', () => raw.publishes.length >= 7);
    expect(raw.publishes.map((p) => [p.topic, seqOf(p)])).toEqual([
      ['q/t', 0],
      ['q/t', 1],
      ['q/t', 2],
      ['z/t', 0],
      ['z/t', 1],
      ['z/t', 2],
      ['q/t', 3],
    ]);
  });
});
