import { describe, expect, it } from 'vitest';
import { CF, decodePayload, encodePayload } from '../../../adapters/coap/lwm2m/codecs/content-format.js';
import { loadObjectModel } from '../../../adapters/coap/lwm2m/object-model.js';
import type { Lwm2mPath } from '../../../adapters/coap/lwm2m/path.js';
import type { Lwm2mRecord } from '../../../adapters/coap/lwm2m/values.js';

const model = loadObjectModel();
const FORMATS = [CF.tlv, CF.senmlJson, CF.senmlCbor, CF.lwm2mJson, CF.text, CF.opaque, CF.legacyTlv];
const BASES: Lwm2mPath[] = [
  { obj: 3303 },
  { obj: 3, inst: 0 },
  { obj: 3311, inst: 0, res: 5850 },
  { obj: 3, inst: 0, res: 7 },
];

// Deterministic PRNG so a failure reproduces.
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

function seeds(): Buffer[] {
  const records: Lwm2mRecord[] = [
    { path: { obj: 3303, inst: 0, res: 5700 }, value: 25.5 },
    { path: { obj: 3303, inst: 0, res: 5701 }, value: 'Cel' },
    { path: { obj: 3303, inst: 1, res: 5700 }, value: 7 },
  ];
  const out: Buffer[] = [];
  for (const cf of [CF.tlv, CF.senmlJson, CF.senmlCbor, CF.lwm2mJson]) {
    const b = encodePayload(cf, records, { obj: 3303 }, model.typeOf);
    if (b.ok) out.push(b.value);
  }
  return out;
}

function expectTyped(format: number, bytes: Buffer, base: Lwm2mPath): void {
  const r = decodePayload(format, bytes, base, model.typeOf);
  expect(typeof r.ok).toBe('boolean');
  if (!r.ok) expect(r.error.length).toBeGreaterThan(0);
}

describe('LwM2M decoders under fuzzing', () => {
  it('never throw on random bytes', () => {
    const rnd = prng(8);
    for (let i = 0; i < 3000; i++) {
      const bytes = Buffer.alloc(Math.floor(rnd() * 64));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rnd() * 256);
      for (const f of FORMATS) for (const base of BASES) expectTyped(f, bytes, base);
    }
  });

  it('never throw on mutated valid payloads', () => {
    const rnd = prng(42);
    const valid = seeds();
    expect(valid).toHaveLength(4);
    for (let i = 0; i < 4000; i++) {
      const seed = valid[i % valid.length] ?? Buffer.alloc(0);
      const bytes = Buffer.from(seed);
      const flips = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < flips; k++) {
        const at = Math.floor(rnd() * bytes.length);
        bytes[at] = Math.floor(rnd() * 256);
      }
      const cut = rnd() < 0.3 ? bytes.subarray(0, Math.floor(rnd() * bytes.length)) : bytes;
      for (const f of FORMATS) expectTyped(f, cut, { obj: 3303 });
    }
  });

  it('never throw on structurally odd JSON', () => {
    const samples = [
      '[]',
      '[null]',
      '[{"bn":5}]',
      '[{"n":"/9999999/0/1","v":1}]',
      '{"e":{}}',
      '{"bn":"/3/0/","e":[null]}',
      '"x"',
      '[{"vd":"***"}]',
      '[{"n":"/3/0/1","v":1e999}]',
    ];
    for (const s of samples) for (const f of [CF.senmlJson, CF.lwm2mJson]) expectTyped(f, Buffer.from(s), { obj: 3 });
  });
});
