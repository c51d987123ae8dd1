import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, type QueueMessage } from '../../gateway/upstream/queue/record.js';

const sample: QueueMessage = {
  topic: 'zephyr2mqtt/dev1',
  payload: Buffer.from('{"temperature":21.5}'),
  qos: 1,
  retain: true,
  ts: 1_764_000_000_123,
};

describe('queue record', () => {
  it('round-trips every field with 17 bytes of overhead', () => {
    const buf = encodeRecord(sample);
    expect(buf.length).toBe(17 + sample.topic.length + sample.payload.length);
    const res = decodeRecord(buf);
    expect(res).toEqual({ ok: true, bytes: buf.length, message: sample });
  });

  it('reports a short buffer as truncated with the bytes needed', () => {
    const buf = encodeRecord(sample);
    expect(decodeRecord(buf.subarray(0, 5))).toEqual({ ok: false, reason: 'truncated', needed: 8 });
    expect(decodeRecord(buf.subarray(0, buf.length - 1))).toEqual({
      ok: false,
      reason: 'truncated',
      needed: buf.length,
    });
  });

  it('detects a flipped bit as corrupt', () => {
    const buf = encodeRecord(sample);
    buf[buf.length - 3]! ^= 0x10;
    expect(decodeRecord(buf)).toMatchObject({ ok: false, reason: 'corrupt', detail: 'checksum mismatch' });
  });

  it('never throws on random or mutated bytes (fuzz)', () => {
    const valid = encodeRecord(sample);
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
