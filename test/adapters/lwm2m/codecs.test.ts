import { describe, expect, it } from 'vitest';
import { CF, decodePayload, encodePayload } from '../../../adapters/coap/lwm2m/codecs/content-format.js';
import { decodeLwm2mJson, encodeLwm2mJson } from '../../../adapters/coap/lwm2m/codecs/lwm2m-json.js';
import { decodeSenmlCbor, encodeSenmlCbor } from '../../../adapters/coap/lwm2m/codecs/senml-cbor.js';
import { decodeSenmlJson, encodeSenmlJson } from '../../../adapters/coap/lwm2m/codecs/senml-json.js';
import { decodeTlv } from '../../../adapters/coap/lwm2m/codecs/tlv.js';
import { recordsToTlv, tlvToRecords } from '../../../adapters/coap/lwm2m/codecs/tlv-records.js';
import { loadObjectModel } from '../../../adapters/coap/lwm2m/object-model.js';
import type { Lwm2mRecord } from '../../../adapters/coap/lwm2m/values.js';

const model = loadObjectModel();
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const rec = (obj: number, inst: number, res: number, value: Lwm2mRecord['value'], ri?: number): Lwm2mRecord => ({
  path: ri === undefined ? { obj, inst, res } : { obj, inst, res, ri },
  value,
});

describe('TLV vectors (protocols.md §6.3)', () => {
  const cases: Array<[string, string, Lwm2mRecord[], { obj: number; inst?: number; res?: number }]> = [
    [
      '3303/0/5700 = 25.5',
      'E8 16 44 08 40 39 80 00 00 00 00 00',
      [rec(3303, 0, 5700, 25.5)],
      { obj: 3303, inst: 0, res: 5700 },
    ],
    ['5701 = "Cel"', 'E3 16 45 43 65 6C', [rec(3303, 0, 5701, 'Cel')], { obj: 3303, inst: 0, res: 5701 }],
    ['3/0/9 = 95', 'C1 09 5F', [rec(3, 0, 9, 95)], { obj: 3, inst: 0, res: 9 }],
    ['3/0/0 = "Zephyr"', 'C6 00 5A 65 70 68 79 72', [rec(3, 0, 0, 'Zephyr')], { obj: 3, inst: 0, res: 0 }],
    [
      'multi 3/0/7',
      '88 07 08 42 00 0E D8 42 01 13 88',
      [rec(3, 0, 7, 3800, 0), rec(3, 0, 7, 5000, 1)],
      { obj: 3, inst: 0, res: 7 },
    ],
    ['instance 3303/0', '08 00 0C E8 16 44 08 40 39 80 00 00 00 00 00', [rec(3303, 0, 5700, 25.5)], { obj: 3303 }],
  ];
  for (const [name, bytes, records, base] of cases) {
    it(`decodes ${name}`, () => {
      expect(tlvToRecords(hex(bytes), base, model.typeOf)).toEqual({ ok: true, value: records });
    });
    it(`encodes ${name}`, () => {
      const out = recordsToTlv(records, base, model.typeOf);
      expect(out.ok && out.value.toString('hex')).toBe(hex(bytes).toString('hex'));
    });
  }

  it("decodes Zephyr's bare resource instance entry for a Read of /3/0/7/1, only at a 4-level path", () => {
    expect(tlvToRecords(hex('42 01 13 88'), { obj: 3, inst: 0, res: 7, ri: 1 }, model.typeOf)).toEqual({
      ok: true,
      value: [rec(3, 0, 7, 5000, 1)],
    });
    expect(tlvToRecords(hex('88 07 04 42 01 13 88'), { obj: 3, inst: 0, res: 7, ri: 1 }, model.typeOf)).toEqual({
      ok: true,
      value: [rec(3, 0, 7, 5000, 1)],
    });
    expect(tlvToRecords(hex('42 01 13 88'), { obj: 3, inst: 0, res: 7 }, model.typeOf)).toMatchObject({ ok: false });
  });

  it('accepts 4-byte floats and rejects odd float widths', () => {
    expect(tlvToRecords(hex('E4 16 44 41 CC 00 00'), { obj: 3303, inst: 0 }, model.typeOf)).toEqual({
      ok: true,
      value: [rec(3303, 0, 5700, 25.5)],
    });
    expect(tlvToRecords(hex('E3 16 44 41 CC 00'), { obj: 3303, inst: 0 }, model.typeOf).ok).toBe(false);
  });

  it('reports truncation as an error', () => {
    expect(decodeTlv(hex('E8 16 44 08 40 39'))).toMatchObject({
      ok: false,
      error: expect.stringContaining('truncated'),
    });
    expect(decodeTlv(hex('E8'))).toMatchObject({ ok: false });
  });
});

describe('SenML JSON (110)', () => {
  it('decodes the §6.3 vector and the Zephyr example', () => {
    const a = decodeSenmlJson(Buffer.from('[{"bn":"/3303/0/","n":"5700","v":25.5}]'), model.typeOf);
    expect(a).toEqual({ ok: true, value: [rec(3303, 0, 5700, 25.5)] });
    const b = decodeSenmlJson(
      Buffer.from('[{"bn":"/3303/0/","n":"5700","v":25.5},{"n":"5701","vs":"Cel"}]'),
      model.typeOf,
    );
    expect(b).toEqual({ ok: true, value: [rec(3303, 0, 5700, 25.5), rec(3303, 0, 5701, 'Cel')] });
  });

  it('encodes in Zephyr layout (bn once per instance)', () => {
    const out = encodeSenmlJson([rec(3303, 0, 5700, 25.5), rec(3303, 0, 5701, 'Cel'), rec(3, 0, 7, 3800, 0)]);
    expect(out.toString()).toBe(
      '[{"bn":"/3303/0/","n":"5700","v":25.5},{"n":"5701","vs":"Cel"},{"bn":"/3/0/","n":"7/0","v":3800}]',
    );
  });

  it('round-trips every value kind', () => {
    const records = [
      rec(3311, 0, 5850, true),
      rec(3, 0, 0, 'Zephyr'),
      rec(5, 0, 0, Uint8Array.from([1, 2, 255])),
      rec(3, 0, 7, 5000, 1),
      rec(1, 0, 1, 300),
    ];
    expect(decodeSenmlJson(encodeSenmlJson(records), model.typeOf)).toEqual({ ok: true, value: records });
  });

  it('rejects wrong types with a reason', () => {
    expect(decodeSenmlJson(Buffer.from('[{"n":"/3/0/9","v":"x"}]'), model.typeOf).ok).toBe(false);
    expect(decodeSenmlJson(Buffer.from('{"n":1}'), model.typeOf).ok).toBe(false);
    expect(decodeSenmlJson(Buffer.from('[{"n":"/3/0","v":1}]'), model.typeOf).ok).toBe(false);
  });
});

describe('SenML CBOR (112)', () => {
  it('uses RFC 8428 integer labels', () => {
    // [{-2: "/3303/0/", 0: "5700", 2: 25.5}]
    const expected = '81a321682f333330332f302f00643537303002fb4039800000000000';
    expect(encodeSenmlCbor([rec(3303, 0, 5700, 25.5)]).toString('hex')).toBe(expected);
    expect(decodeSenmlCbor(hex(expected), model.typeOf)).toEqual({ ok: true, value: [rec(3303, 0, 5700, 25.5)] });
  });

  it('decodes half/single floats and booleans, opaque as bytes', () => {
    // [{-2: "/3311/0/", 0: "5850", 4: true}, {0: "5851", 2: 1.5 (f16)}, {-2: "/5/0/", 0: "0", 8: h'0102'}]
    const bytes = hex(
      '83 a3 21 68 2f333331312f302f 00 64 35383530 04 f5 a2 00 64 35383531 02 f9 3e00 a3 21 65 2f352f302f 00 61 30 08 42 0102',
    );
    expect(decodeSenmlCbor(bytes, model.typeOf)).toEqual({
      ok: true,
      value: [rec(3311, 0, 5850, true), rec(3311, 0, 5851, 1.5), rec(5, 0, 0, Uint8Array.from([1, 2]))],
    });
  });

  it('round-trips every value kind', () => {
    const records = [
      rec(3311, 0, 5850, false),
      rec(3, 0, 0, 'Zephyr'),
      rec(5, 0, 0, Uint8Array.from([9])),
      rec(3, 0, 7, 3800, 0),
    ];
    expect(decodeSenmlCbor(encodeSenmlCbor(records), model.typeOf)).toEqual({ ok: true, value: records });
  });

  it('rejects a non-array and a record with a text value under "v"', () => {
    expect(decodeSenmlCbor(hex('a0'), model.typeOf).ok).toBe(false);
    expect(decodeSenmlCbor(hex('81 a2 00 66 2f332f302f39 02 61 78'), model.typeOf).ok).toBe(false);
  });
});

describe('LwM2M JSON (11543)', () => {
  it('decodes the OMA example', () => {
    const out = decodeLwm2mJson(
      Buffer.from('{"bn":"/3303/0/","e":[{"n":"5700","v":25.5},{"n":"5701","sv":"Cel"}]}'),
      model.typeOf,
    );
    expect(out).toEqual({ ok: true, value: [rec(3303, 0, 5700, 25.5), rec(3303, 0, 5701, 'Cel')] });
  });

  it('round-trips on instance and object bases', () => {
    const records = [rec(3311, 0, 5850, true), rec(3311, 0, 5750, 'Test light'), rec(3311, 0, 5852, 12)];
    const inst = encodeLwm2mJson(records, { obj: 3311, inst: 0 });
    expect(inst.toString()).toBe(
      '{"bn":"/3311/0/","e":[{"n":"5850","bv":true},{"n":"5750","sv":"Test light"},{"n":"5852","v":12}]}',
    );
    expect(decodeLwm2mJson(inst, model.typeOf)).toEqual({ ok: true, value: records });
    expect(decodeLwm2mJson(encodeLwm2mJson(records, { obj: 3311 }), model.typeOf)).toEqual({
      ok: true,
      value: records,
    });
  });

  it('rejects entries without a value', () => {
    expect(decodeLwm2mJson(Buffer.from('{"bn":"/3/0/","e":[{"n":"9"}]}'), model.typeOf).ok).toBe(false);
  });
});

describe('content format dispatch', () => {
  it('reads plain text with the model type', () => {
    expect(decodePayload(CF.text, Buffer.from('25.5'), { obj: 3303, inst: 0, res: 5700 }, model.typeOf)).toEqual({
      ok: true,
      value: [rec(3303, 0, 5700, 25.5)],
    });
    expect(decodePayload(CF.text, Buffer.from('1'), { obj: 3311, inst: 0, res: 5850 }, model.typeOf)).toEqual({
      ok: true,
      value: [rec(3311, 0, 5850, true)],
    });
    expect(decodePayload(CF.text, Buffer.from('abc'), { obj: 3, inst: 0, res: 9 }, model.typeOf).ok).toBe(false);
  });

  it('keeps opaque as bytes and refuses text for a whole instance', () => {
    expect(decodePayload(CF.opaque, Buffer.from([1, 2]), { obj: 5, inst: 0, res: 0 }, model.typeOf)).toEqual({
      ok: true,
      value: [rec(5, 0, 0, Uint8Array.from([1, 2]))],
    });
    expect(decodePayload(CF.text, Buffer.from('1'), { obj: 3, inst: 0 }, model.typeOf).ok).toBe(false);
  });

  it('round-trips the same records through every multi-value format', () => {
    const records = [rec(3303, 0, 5700, 21.25), rec(3303, 0, 5701, 'Cel'), rec(3303, 1, 5700, -4)];
    for (const cf of [CF.tlv, CF.senmlJson, CF.senmlCbor, CF.lwm2mJson]) {
      const bytes = encodePayload(cf, records, { obj: 3303 }, model.typeOf);
      if (!bytes.ok) throw new Error(bytes.error);
      expect(decodePayload(cf, bytes.value, { obj: 3303 }, model.typeOf), `format ${cf}`).toEqual({
        ok: true,
        value: records,
      });
    }
  });

  it('names an unsupported format', () => {
    expect(decodePayload(60, Buffer.alloc(1), { obj: 3 }, model.typeOf)).toEqual({
      ok: false,
      error: 'unsupported content format 60',
    });
  });
});
