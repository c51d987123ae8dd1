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

  it('takes an Object Instance entry around the answer to a Read of that instance, not of another one', () => {
    const wrapped = hex('08 00 0C E8 16 44 08 40 39 80 00 00 00 00 00');
    expect(tlvToRecords(wrapped, { obj: 3303, inst: 0 }, model.typeOf)).toEqual({
      ok: true,
      value: [rec(3303, 0, 5700, 25.5)],
    });
    expect(
      tlvToRecords(hex('08 01 0C E8 16 44 08 40 39 80 00 00 00 00 00'), { obj: 3303, inst: 0 }, model.typeOf),
    ).toEqual({ ok: false, error: 'TLV object instance 1 inside instance 0' });
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

  it('writes "vd" as base64url without padding (RFC 8428 §5) and reads it and standard base64', () => {
    const bytes = Uint8Array.from([0xfb, 0xff]);
    expect(encodeSenmlJson([rec(5, 0, 0, bytes)]).toString()).toBe('[{"bn":"/5/0/","n":"0","vd":"-_8"}]');
    for (const vd of ['-_8', '+/8=']) {
      expect(decodeSenmlJson(Buffer.from(`[{"n":"/5/0/0","vd":"${vd}"}]`), model.typeOf)).toEqual({
        ok: true,
        value: [rec(5, 0, 0, bytes)],
      });
    }
  });

  it('refuses a pack of a SenML version above 10 (RFC 8428 §4.4)', () => {
    const pack = (bver: number) => Buffer.from(`[{"bver":${bver},"n":"/3303/0/5700","v":1.75}]`);
    expect(decodeSenmlJson(pack(10), model.typeOf)).toEqual({ ok: true, value: [rec(3303, 0, 5700, 1.75)] });
    expect(decodeSenmlJson(pack(99), model.typeOf)).toEqual({
      ok: false,
      error: 'SenML record 0: SenML version 99 is not supported (bver > 10)',
    });
  });

  it('times later records with the base time, with or without their own "t"', () => {
    const out = decodeSenmlJson(
      Buffer.from(
        '[{"bn":"/3303/0/","bt":1700000000,"n":"5700","v":3},{"n":"5700","v":4,"t":-30},{"n":"5701","vs":"Cel"}]',
      ),
      model.typeOf,
    );
    expect(out.ok && out.value.map((r) => r.time)).toEqual([1700000000, 1699999970, 1700000000]);
    const untimed = decodeSenmlJson(Buffer.from('[{"n":"/3303/0/5700","v":3}]'), model.typeOf);
    expect(untimed).toEqual({ ok: true, value: [rec(3303, 0, 5700, 3)] });
  });

  it('rejects wrong types with a reason', () => {
    expect(decodeSenmlJson(Buffer.from('[{"n":"/3/0/9","v":"x"}]'), model.typeOf).ok).toBe(false);
    expect(decodeSenmlJson(Buffer.from('{"n":1}'), model.typeOf).ok).toBe(false);
    expect(decodeSenmlJson(Buffer.from('[{"n":"/3/0","v":1}]'), model.typeOf).ok).toBe(false);
  });
});

describe('SenML values checked against the object model', () => {
  // No built-in object has an objlnk resource: /10/0/1 gets that type here.
  const typeOf = (obj: number, res: number) => (obj === 10 && res === 1 ? 'objlnk' : model.typeOf(obj, res));
  const json = (pack: string) => decodeSenmlJson(Buffer.from(pack), typeOf);

  it('refuses a value in the wrong field for the resource type, naming the path and both fields', () => {
    const cases: Array<[string, string]> = [
      ['[{"bn":"/3303/0/","n":"5700","vs":"hot"}]', 'SenML record /3303/0/5700 (float) takes "v", not "vs"'],
      ['[{"bn":"/3303/0/","n":"5700","vb":true}]', 'SenML record /3303/0/5700 (float) takes "v", not "vb"'],
      ['[{"n":"/3/0/9","vs":"95"}]', 'SenML record /3/0/9 (integer) takes "v", not "vs"'],
      ['[{"n":"/3/0/13","vs":"now"}]', 'SenML record /3/0/13 (time) takes "v", not "vs"'],
      ['[{"bn":"/3311/0/","n":"5850","vs":"yes"}]', 'SenML record /3311/0/5850 (boolean) takes "vb", not "vs"'],
      ['[{"bn":"/3311/0/","n":"5850","v":2}]', 'SenML record /3311/0/5850 (boolean) takes "vb", not "v"'],
      ['[{"n":"/3/0/0","v":1}]', 'SenML record /3/0/0 (string) takes "vs", not "v"'],
      ['[{"n":"/5/0/0","vs":"AQI"}]', 'SenML record /5/0/0 (opaque) takes "vd", not "vs"'],
      ['[{"n":"/10/0/1","vs":"3:0"}]', 'SenML record /10/0/1 (objlnk) takes "vlo", not "vs"'],
      [
        '[{"n":"/10/0/1","vlo":"not-a-link"}]',
        'SenML record /10/0/1 (objlnk) takes an "obj:inst" link, not "not-a-link"',
      ],
    ];
    for (const [pack, error] of cases) expect(json(pack), pack).toEqual({ ok: false, error });
  });

  it('takes the matching fields, "v" 0/1 for booleans, and anything for resources the model does not know', () => {
    expect(
      json(
        '[{"n":"/3311/0/5850","v":1},{"n":"/3311/0/5850","v":0},{"n":"/3311/0/5850","vb":true},{"n":"/10/0/1","vlo":"3:0"},{"n":"/3303/0/9999","vs":"x"},{"n":"/4242/0/1","vb":true}]',
      ),
    ).toEqual({
      ok: true,
      value: [
        rec(3311, 0, 5850, true),
        rec(3311, 0, 5850, false),
        rec(3311, 0, 5850, true),
        rec(10, 0, 1, { objlnk: '3:0' }),
        rec(3303, 0, 9999, 'x'),
        rec(4242, 0, 1, true),
      ],
    });
  });

  it('checks SenML CBOR and LwM2M JSON the same way; LwM2M JSON opaque is base64 in "sv"', () => {
    // [{-2: "/3303/0/", 0: "5700", 3: "hot"}]
    const cbor = hex('81 a3 21 68 2f333330332f302f 00 64 35373030 03 63 686f74');
    expect(decodeSenmlCbor(cbor, typeOf)).toEqual({
      ok: false,
      error: 'SenML record /3303/0/5700 (float) takes "v", not "vs"',
    });
    expect(decodeLwm2mJson(Buffer.from('{"bn":"/3303/0/","e":[{"n":"5700","sv":"hot"}]}'), typeOf).ok).toBe(false);
    const opaque = Buffer.from('{"bn":"/5/0/","e":[{"n":"0","sv":"AQL/"}]}');
    expect(decodeLwm2mJson(opaque, typeOf)).toEqual({ ok: true, value: [rec(5, 0, 0, Uint8Array.from([1, 2, 255]))] });
    expect(decodeLwm2mJson(Buffer.from('{"bn":"/5/0/","e":[{"n":"0","sv":"%%"}]}'), typeOf).ok).toBe(false);
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

  it('refuses a pack whose bver (label -1) is above 10', () => {
    // [{-1: 11, 0: "/3303/0/5700", 2: 1}] and the same with bver 10
    expect(decodeSenmlCbor(hex('81 a3 20 0b 00 6c 2f333330332f302f35373030 02 01'), model.typeOf)).toEqual({
      ok: false,
      error: 'SenML record 0: SenML version 11 is not supported (bver > 10)',
    });
    expect(decodeSenmlCbor(hex('81 a3 20 0a 00 6c 2f333330332f302f35373030 02 01'), model.typeOf)).toEqual({
      ok: true,
      value: [rec(3303, 0, 5700, 1)],
    });
  });

  it('refuses must-understand labels (ending in "_") and reads only integer keys as RFC labels', () => {
    // [{0: "/3303/0/5700", 2: 1, "foo_": 1}]
    expect(decodeSenmlCbor(hex('81 a3 00 6c 2f333330332f302f35373030 02 01 64 666f6f5f 01'), model.typeOf)).toEqual({
      ok: false,
      error: 'SenML record 0: unknown must-understand label "foo_"',
    });
    // [{0: "/3303/0/5700", 2: 1, "2": 7}]: the text key "2" is not the label 2
    expect(decodeSenmlCbor(hex('81 a3 00 6c 2f333330332f302f35373030 02 01 61 32 07'), model.typeOf)).toEqual({
      ok: true,
      value: [rec(3303, 0, 5700, 1)],
    });
    expect(decodeSenmlJson(Buffer.from('[{"n":"/3303/0/5700","v":1,"foo_":1}]'), model.typeOf)).toEqual({
      ok: false,
      error: 'SenML record 0: unknown must-understand label "foo_"',
    });
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
