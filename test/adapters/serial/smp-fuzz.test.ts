// Random and mutated bytes into every SMP decoder: a typed result every time, never a throw.
import { describe, expect, it } from 'vitest';
import { type CborValue, decodeCbor, encodeCbor } from '../../../adapters/common/smp/cbor.js';
import { decodeSmpMessage, encodeSmpMessage } from '../../../adapters/common/smp/packet.js';
import { encodeSerialFrames, SmpSerialAssembler } from '../../../adapters/common/smp/serial-frame.js';
import { randomBytes, rng } from './random.js';

const SEED = 0x5e71a1;

function randomValue(next: () => number, depth: number): CborValue {
  const pick = Math.floor(next() * (depth > 3 ? 5 : 7));
  switch (pick) {
    case 0:
      return Math.floor((next() - 0.5) * 2 ** (next() * 50));
    case 1:
      return (
        'ü'.repeat(Math.floor(next() * 3)) +
        Math.random()
          .toString(36)
          .slice(2, 2 + Math.floor(next() * 10))
      );
    case 2:
      return next() < 0.5;
    case 3:
      return randomBytes(next, Math.floor(next() * 20));
    case 4:
      return next() < 0.5 ? null : next() * 1000;
    case 5:
      return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
    default: {
      const out: { [k: string]: CborValue } = {};
      for (let i = 0; i < Math.floor(next() * 4); i++) out[`k${i}`] = randomValue(next, depth + 1);
      return out;
    }
  }
}

describe('SMP decoders under fuzzing', () => {
  it('round-trips random CBOR values', () => {
    const next = rng(SEED);
    for (let i = 0; i < 2000; i++) {
      const value = randomValue(next, 0);
      expect(decodeCbor(encodeCbor(value)), `seed ${SEED} case ${i}`).toEqual({ ok: true, value });
    }
  });

  it('never throws on random or mutated CBOR, SMP packets and serial frames', () => {
    const next = rng(SEED + 1);
    const asm = new SmpSerialAssembler();
    let failures = 0;
    for (let i = 0; i < 5000; i++) {
      const valid = encodeSmpMessage({
        op: 3,
        version: 1,
        group: 1,
        id: 0,
        seq: i & 0xff,
        body: { v: randomValue(next, 0) },
      });
      const mutated = Uint8Array.from(valid);
      for (let m = 0; m < 1 + Math.floor(next() * 4); m++)
        mutated[Math.floor(next() * mutated.length)] = Math.floor(next() * 256);
      const garbage = randomBytes(next, Math.floor(next() * 200));
      for (const bytes of [mutated, garbage]) {
        const results = [decodeCbor(bytes), decodeSmpMessage(bytes), decodeCbor(bytes.subarray(8))];
        for (const r of results) expect(typeof r.ok).toBe('boolean');
        if (!results[1]!.ok) failures++;
      }
      const frames = encodeSerialFrames(mutated);
      const frame = Uint8Array.from(frames[Math.floor(next() * frames.length)]!);
      frame[Math.floor(next() * frame.length)] = Math.floor(next() * 256);
      for (const f of [frame, Uint8Array.from([6, 9, ...garbage]), Uint8Array.from([4, 20, ...garbage]), garbage]) {
        for (const r of asm.push(f)) if (!r.ok) expect(r.reason).toMatch(/\w/);
      }
    }
    expect(failures).toBeGreaterThan(5000);
  });
});
