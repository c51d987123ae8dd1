import { randomBytes } from 'node:crypto';
import { Decoder } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import {
  decodeSenmlCbor,
  decodeSenmlJson,
  encodeSenmlCbor,
  encodeSenmlJson,
  type SenmlRecord,
  senmlToState,
} from '../../../adapters/common/senml.js';

describe('SenML-JSON decode', () => {
  it('resolves base name, time, value and unit across records (RFC 8428 §5.1.2 example)', () => {
    const pack = [
      { bn: 'urn:dev:ow:10e2073a01080063:', bt: 1.276020076001e9, bu: 'A', bver: 5, n: 'voltage', u: 'V', v: 120.1 },
      { n: 'current', t: -5, v: 1.2 },
      { n: 'current', t: -4, v: 1.3 },
    ];
    const result = decodeSenmlJson(JSON.stringify(pack));
    expect(result).toEqual({
      ok: true,
      records: [
        { name: 'urn:dev:ow:10e2073a01080063:voltage', unit: 'V', value: 120.1, time: 1.276020076001e9 },
        { name: 'urn:dev:ow:10e2073a01080063:current', unit: 'A', value: 1.2, time: 1.276020076001e9 - 5 },
        { name: 'urn:dev:ow:10e2073a01080063:current', unit: 'A', value: 1.3, time: 1.276020076001e9 - 4 },
      ],
    });
  });

  it('decodes the LwM2M vector from protocols.md §6.3 and adds bv/bs to v/s', () => {
    expect(decodeSenmlJson('[{"bn":"/3303/0/","n":"5700","v":25.5}]')).toEqual({
      ok: true,
      records: [{ name: '/3303/0/5700', value: 25.5 }],
    });
    const r = decodeSenmlJson('[{"bn":"d:","bv":10,"bs":100,"n":"a","v":1},{"n":"b","s":2}]');
    expect(r).toEqual({
      ok: true,
      records: [
        { name: 'd:a', value: 11 },
        { name: 'd:b', sum: 102 },
      ],
    });
  });

  it('decodes vs, vb and base64url vd', () => {
    const r = decodeSenmlJson('[{"n":"s","vs":"hi"},{"n":"b","vb":true},{"n":"d","vd":"AQL_"}]');
    expect(r.ok && r.records.map((x) => x.value)).toEqual(['hi', true, new Uint8Array([1, 2, 255])]);
  });

  it.each([
    ['not json', '{', /not valid JSON/],
    ['not an array', '{"n":"a","v":1}', /must be an array/],
    ['record not object', '[1]', /not an object/],
    ['two values', '[{"n":"a","v":1,"vs":"x"}]', /more than one value/],
    ['no value', '[{"n":"a"}]', /no value/],
    ['bad v', '[{"n":"a","v":"1"}]', /invalid "v"/],
    ['bad name', '[{"n":" a","v":1}]', /invalid name/],
    ['must-understand', '[{"n":"a","v":1,"x_":1}]', /must-understand/],
    ['bad vd', '[{"n":"a","vd":"%%"}]', /invalid "vd"/],
    ['a later SenML version', '[{"bver":11,"n":"a","v":1}]', /SenML version 11, newer than 10/],
  ])('rejects %s with a typed error', (_label, input, message) => {
    const result = decodeSenmlJson(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });
});

describe('SenML-CBOR', () => {
  it('decodes integer labels (bn -2, n 0, v 2, vs 3, vb 4, vd 8)', () => {
    const bytes = encodeSenmlCbor([
      { name: '/3303/0/5700', value: 25.5 },
      { name: '/3303/0/5701', value: 'Cel' },
      { name: '/3303/0/5850', value: false },
      { name: '/3303/0/x', value: new Uint8Array([7]) },
    ]);
    // Plain CBOR maps (no tag 259), read back as Maps to see the integer keys.
    const raw = new Decoder({ mapsAsObjects: false, useRecords: false }).decode(bytes) as unknown[];
    expect(raw[0]).toEqual(
      new Map<number, unknown>([
        [0, '/3303/0/5700'],
        [2, 25.5],
      ]),
    );
    const result = decodeSenmlCbor(bytes);
    // vd is a plain byte string (no tag 64), which cbor-x reads as a Buffer.
    expect(result.ok && result.records.map((r) => r.value)).toEqual([25.5, 'Cel', false, Buffer.from([7])]);
  });

  it('decodes a hand-written pack with base name and base time', () => {
    // [{-2: "dev/", -3: 100, 0: "t", 2: 21.5, 6: 1}]
    // 81 a5 | 21 64 "dev/" | 22 18 64 | 00 61 "t" | 02 f9 4d60 (half-float 21.5) | 06 01
    const bytes = Buffer.from('81a5216464657' + '62f2218640061740' + '2f94d600601', 'hex');
    const result = decodeSenmlCbor(bytes);
    expect(result).toEqual({ ok: true, records: [{ name: 'dev/t', value: 21.5, time: 101 }] });
  });

  it('refuses a pack whose bver (label -1) is above 10', () => {
    // [{-1: 11, 0: "t", 2: 1}]
    expect(decodeSenmlCbor(Buffer.from('81a3200b0061740201', 'hex'))).toEqual({
      ok: false,
      error: 'record 0 has SenML version 11, newer than 10',
    });
    expect(decodeSenmlCbor(Buffer.from('81a3200a0061740201', 'hex'))).toEqual({
      ok: true,
      records: [{ name: 't', value: 1 }],
    });
  });

  it('maps integer keys only to RFC labels, ignores text extension keys and refuses must-understand ones', () => {
    // [{0: "t", "2": 5, 2: 7, "ext": 1}]: the text key "2" is an extension label, not "v".
    const extension = Buffer.from('81a4' + '006174' + '613205' + '0207' + '6365787401', 'hex');
    expect(decodeSenmlCbor(extension)).toEqual({ ok: true, records: [{ name: 't', value: 7 }] });
    // [{0: "t", "2": 5}]: no value once "2" is not taken as "v".
    expect(decodeSenmlCbor(Buffer.from('81a2006174613205', 'hex'))).toEqual({
      ok: false,
      error: 'record 0 ("t") has no value',
    });
    // [{0: "t", 2: 1, "x_": 1}]
    expect(decodeSenmlCbor(Buffer.from('81a3006174020162785f01', 'hex'))).toEqual({
      ok: false,
      error: 'record 0 has must-understand field "x_"',
    });
  });

  it('tells a pack written with JSON text labels that SenML-CBOR uses integer labels', () => {
    // [{"n": "t", "v": 1}]
    expect(decodeSenmlCbor(Buffer.from('81a2616e6174617601', 'hex'))).toEqual({
      ok: false,
      error: 'record 0 has the text label "n": SenML-CBOR uses integer labels (0 for "n")',
    });
  });

  it('rejects non-CBOR and non-array input with typed errors', () => {
    expect(decodeSenmlCbor(Buffer.from([0xff, 0xff])).ok).toBe(false);
    expect(decodeSenmlCbor(Buffer.from([0x01]))).toEqual({ ok: false, error: 'SenML pack must be an array' });
  });
});

describe('SenML encode/decode round trip and state flattening', () => {
  it('round-trips through JSON and CBOR', () => {
    const records: SenmlRecord[] = [
      { name: 'n1/temp', unit: 'Cel', value: 21.5, time: 1700000000 },
      { name: 'n1/ok', value: true },
      { name: 'n1/raw', value: new Uint8Array([1, 2, 3]) },
      { name: 'n1/energy', sum: 42 },
    ];
    expect(decodeSenmlJson(encodeSenmlJson(records))).toEqual({ ok: true, records });
    const viaCbor = decodeSenmlCbor(encodeSenmlCbor(records));
    const bytesAsUint8Array = (r: SenmlRecord) => ({
      ...r,
      value: r.value instanceof Uint8Array ? new Uint8Array(r.value) : r.value,
    });
    expect(viaCbor.ok && viaCbor.records.map(bytesAsUint8Array)).toEqual(records.map((r) => ({ ...r })));
  });

  it('strips the common base name when flattening into a state object', () => {
    expect(
      senmlToState([
        { name: 'urn:dev:mac:01:temperature', value: 21.5 },
        { name: 'urn:dev:mac:01:humidity', value: 40 },
      ]),
    ).toEqual({ temperature: 21.5, humidity: 40 });
    expect(senmlToState([{ name: '/3303/0/5700', value: 25.5 }])).toEqual({ '5700': 25.5 });
    expect(senmlToState([{ name: 'temperature', value: 1 }])).toEqual({ temperature: 1 });
    expect(senmlToState([{ name: 'raw', value: new Uint8Array([0xab]) }])).toEqual({ raw: 'ab' });
  });

  it('keeps the newest record of a name: relative times are before now, equal times let the later one win', () => {
    const state = (pack: unknown[]) => {
      const decoded = decodeSenmlJson(JSON.stringify(pack));
      return decoded.ok ? senmlToState(decoded.records, 1_700_000_100) : decoded.error;
    };
    expect(
      state([
        { n: 'temp', v: 21 },
        { n: 'temp', v: 22, t: -60 },
      ]),
    ).toEqual({ temp: 21 });
    expect(
      state([
        { bn: 'd:', bt: 1_700_000_000, n: 'temp', v: 1, t: 10 },
        { n: 'temp', v: 2 },
        { n: 'hum', v: 40 },
        { n: 'hum', v: 41 },
      ]),
    ).toEqual({ temp: 1, hum: 41 });
    // Absolute and relative: 1_700_000_050 is 50 s before "now" (1_700_000_100), -10 only 10 s.
    expect(
      state([
        { n: 'temp', v: 3, t: -10 },
        { n: 'temp', v: 4, t: 1_700_000_050 },
      ]),
    ).toEqual({ temp: 3 });
  });

  it('turns a "/" left in a name into "_" (RFC 8428 §4.5.1 allows "/" in names)', () => {
    expect(
      senmlToState([
        { name: 'urn:dev:mac:01:room1/temp', value: 21 },
        { name: 'urn:dev:mac:01:room2/temp', value: 19 },
      ]),
    ).toEqual({ room1_temp: 21, room2_temp: 19 });
    expect(senmlToState([{ name: 'a/b/c', value: 1 }])).toEqual({ c: 1 });
  });

  it('never throws on random or mutated input (20k cases)', () => {
    const seed = encodeSenmlCbor([
      { name: 'a/b', value: 1.5, time: 3 },
      { name: 'a/c', value: 'x' },
    ]);
    const seedJson = Buffer.from(
      encodeSenmlJson([
        { name: 'a/b', value: 1.5 },
        { name: 'a/c', value: true },
      ]),
    );
    let failures = 0;
    for (let i = 0; i < 10_000; i++) {
      const random = randomBytes(i % 64);
      const mutated = Buffer.from(i % 2 ? seed : seedJson);
      for (let k = 0; k < 1 + (i % 4); k++) mutated[(i * 7 + k * 13) % mutated.length] = random[k] ?? i & 0xff;
      for (const input of [random, mutated]) {
        for (const result of [decodeSenmlCbor(input), decodeSenmlJson(input)]) {
          if (!result.ok) {
            expect(typeof result.error).toBe('string');
            failures++;
          }
        }
      }
    }
    expect(failures).toBeGreaterThan(10_000);
  });
});
