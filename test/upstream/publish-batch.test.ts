import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { BridgeOutgoingStore, PublishBatch } from '../../gateway/upstream/publish-batch.js';
import { decodeRecordView, encodeRecord, type RecordView, VIEW_OK } from '../../gateway/upstream/queue/record.js';

function viewOf(topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean): RecordView {
  const rec = encodeRecord(topic, payload, qos, retain, 1);
  // Not at offset 0 of its buffer, as in the queue's read buffer.
  const buf = Buffer.concat([Buffer.from('junk'), rec, Buffer.from('more')]);
  const view = {} as RecordView;
  expect(decodeRecordView(buf, 4, 4 + rec.length, view)).toBe(VIEW_OK);
  return view;
}

describe('PublishBatch', () => {
  const cases = [
    { topic: 'gw1/dev', payload: Buffer.from('{"t":21.5}'), qos: 1, retain: false },
    { topic: 'gw1/röhre/😀', payload: Buffer.from('retained'), qos: 1, retain: true },
    { topic: 'gw1/q0', payload: Buffer.alloc(0), qos: 0, retain: false },
    { topic: 'gw1/q2', payload: Buffer.alloc(200, 7), qos: 2, retain: true }, // 2-byte remaining length
    { topic: 'gw1/big', payload: Buffer.alloc(70_000, 9), qos: 1, retain: false }, // 3 bytes, beyond one chunk
  ] as const;

  for (const protocolVersion of [4, 5] as const) {
    it(`encodes PUBLISH packets byte for byte like mqtt-packet (protocol ${protocolVersion})`, () => {
      const batch = new PublishBatch(protocolVersion === 5);
      const expected: Buffer[] = [];
      cases.forEach((c, i) => {
        const messageId = c.qos > 0 ? 65530 + i : 0;
        batch.add(viewOf(c.topic, c.payload, c.qos, c.retain), messageId);
        expected.push(
          mqttPacket.generate(
            {
              cmd: 'publish',
              topic: c.topic,
              payload: c.payload,
              qos: c.qos,
              retain: c.retain,
              dup: false,
              ...(c.qos > 0 ? { messageId } : {}),
              ...(protocolVersion === 5 ? { properties: {} } : {}),
            },
            { protocolVersion },
          ),
        );
      });
      const parts = batch.take();
      expect(parts.length).toBeGreaterThan(1); // the 70 kB payload did not fit the first chunk
      expect(Buffer.concat(parts).equals(Buffer.concat(expected))).toBe(true);
      expect(batch.take()).toEqual([]);
      // The next batch reuses the rest of the chunk without touching what was taken.
      const taken = Buffer.concat(parts);
      batch.add(viewOf('gw1/next', Buffer.from('x'), 1, false), 1);
      expect(Buffer.concat(parts).equals(taken)).toBe(true);
      expect(batch.take()).toHaveLength(1);
    });
  }

  it('sets DUP on a re-delivery of a QoS 1/2 message, never on QoS 0', () => {
    const batch = new PublishBatch(true);
    for (const qos of [0, 1, 2] as const)
      batch.add(viewOf('gw1/dev', Buffer.from('x'), qos, false), 7, qos, false, true);
    const packets: Array<{ qos: number; dup: boolean }> = [];
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    parser.on('packet', (p) => {
      if (p.cmd === 'publish') packets.push({ qos: p.qos, dup: p.dup });
    });
    parser.parse(Buffer.concat(batch.take()));
    expect(packets).toEqual([
      { qos: 0, dup: false },
      { qos: 1, dup: true },
      { qos: 2, dup: true },
    ]);
  });
});

describe('BridgeOutgoingStore', () => {
  it('acknowledges publishes it never stored and removes the ones it did', () => {
    const store = new BridgeOutgoingStore();
    const results: Array<[Error | undefined, unknown]> = [];
    store.del({ messageId: 7 }, (err, packet) => results.push([err, packet]));
    expect(results).toEqual([[undefined, { messageId: 7 }]]);

    const stored = {
      cmd: 'publish',
      topic: 't',
      payload: 'x',
      qos: 1,
      messageId: 8,
      dup: false,
      retain: false,
    } as const;
    store.put(stored, () => {});
    let got: unknown;
    store.get({ messageId: 8 }, (_err, packet) => {
      got = packet;
    });
    expect(got).toBe(stored);
    store.del({ messageId: 8 }, (err, packet) => results.push([err, packet]));
    expect(results[1]?.[0]).toBeFalsy();
    expect(results[1]?.[1]).toBe(stored);
    let missing: Error | undefined;
    store.get({ messageId: 8 }, (err) => {
      missing = err;
    });
    expect(missing?.message).toBe('missing packet');
  });
});
