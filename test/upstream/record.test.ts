import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeRecord,
  decodeRecordView,
  encodeRecord,
  findRecord,
  type QueueMessage,
  type RecordView,
  VIEW_CORRUPT,
  VIEW_OK,
  VIEW_TRUNCATED,
} from '../../gateway/upstream/queue/record.js';

const sample: QueueMessage = {
  topic: 'zephyr2mqtt/dev1',
  payload: Buffer.from('{"temperature":21.5}'),
  qos: 1,
  retain: true,
  ts: 1_764_000_000_123,
};
const encodeSample = () => encodeRecord(sample.topic, sample.payload, sample.qos, sample.retain, sample.ts);

describe('queue record', () => {
  it('round-trips every field with 17 bytes of overhead', () => {
    const buf = encodeSample();
    expect(buf.length).toBe(17 + sample.topic.length + sample.payload.length);
    const res = decodeRecord(buf);
    expect(res).toEqual({ ok: true, bytes: buf.length, message: sample });
  });

  it('reports a short buffer as truncated with the bytes needed', () => {
    const buf = encodeSample();
    expect(decodeRecord(buf.subarray(0, 5))).toEqual({ ok: false, reason: 'truncated', needed: 8 });
    expect(decodeRecord(buf.subarray(0, buf.length - 1))).toEqual({
      ok: false,
      reason: 'truncated',
      needed: buf.length,
    });
  });

  it('detects a flipped bit as corrupt', () => {
    const buf = encodeSample();
    buf[buf.length - 3]! ^= 0x10;
    expect(decodeRecord(buf)).toMatchObject({ ok: false, reason: 'corrupt', detail: 'checksum mismatch' });
  });

  it('findRecord: the first whole, valid record after garbage, and none in garbage or a cut-off record', () => {
    const record = encodeSample();
    for (let i = 0; i < 200; i++) {
      const garbage = randomBytes(1 + (i % 300));
      const buf = Buffer.concat([garbage, record, record]);
      const found = findRecord(buf, 0, buf.length, buf.length);
      // A valid record inside random bytes would need a CRC-32 match: not in 200 tries.
      expect(found).toBe(garbage.length);
      expect(findRecord(buf, 0, garbage.length, garbage.length + record.length - 1)).toBe(-1);
    }
    expect(findRecord(randomBytes(64 * 1024), 0, 64 * 1024, 64 * 1024)).toBe(-1);
  });

  it('never throws on random or mutated bytes (fuzz)', () => {
    const valid = encodeSample();
    let decodedOk = 0;
    for (let i = 0; i < 20_000; i++) {
      let input: Buffer;
      if (i % 2 === 0) {
        input = randomBytes(i % 97);
      } else {
        input = Buffer.from(valid);
        const flips = 1 + (i % 4);
        for (let f = 0; f < flips; f++) input[(i * 31 + f * 7) % input.length] = (i * 13 + f) & 0xff;
        if (i % 3 === 0) input = input.subarray(0, i % input.length);
      }
      const res = decodeRecord(input);
      expect(typeof res.ok).toBe('boolean');
      // The allocation-free decoder the sender uses agrees with it on every input.
      const view = {} as RecordView;
      const status = decodeRecordView(input, 0, input.length, view);
      expect(status).toBe(res.ok ? VIEW_OK : res.reason === 'truncated' ? VIEW_TRUNCATED : VIEW_CORRUPT);
      if (res.ok) {
        expect(view.bytes).toBe(res.bytes);
        expect(input.toString('utf8', view.topicStart, view.topicEnd)).toBe(res.message.topic);
        expect(input.subarray(view.topicEnd, view.payloadEnd).equals(res.message.payload)).toBe(true);
        expect([view.qos, view.retain, view.ts]).toEqual([res.message.qos, res.message.retain, res.message.ts]);
      } else if (res.reason === 'truncated') {
        expect(view.bytes).toBe(res.needed);
      }
      if (res.ok) {
        decodedOk++;
        expect(res.bytes).toBeLessThanOrEqual(input.length);
      } else {
        expect(['truncated', 'corrupt']).toContain(res.reason);
      }
    }
    // Mutations that keep the record valid must be rare: the checksum catches the rest.
    expect(decodedOk).toBeLessThan(200);
  });
});
