import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBthome } from '../../../adapters/ble/decoders/bthome.js';
import { decodeWithCodec, encodeWithCodec } from '../../../adapters/ble/decoders/codec.js';
import {
  decodeBatteryLevel,
  decodeBodySensorLocation,
  decodeEssHumidity,
  decodeEssPressure,
  decodeEssTemperature,
  decodeHeartRate,
  decodeHtsMeasurement,
  decodeIeee11073Float,
  decodePnpId,
  decodeUtf8,
} from '../../../adapters/ble/decoders/gatt-services.js';
import { NdjsonSplitter } from '../../../adapters/ble/decoders/ndjson.js';

const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('GATT decoders: protocols.md §6.1 vectors', () => {
  it('ESS temperature and humidity', () => {
    expect(decodeEssTemperature(h('29 09'))).toEqual({ ok: true, value: 23.45 });
    expect(decodeEssTemperature(h('F8 FD'))).toEqual({ ok: true, value: -5.2 });
    expect(decodeEssHumidity(h('BF 13'))).toEqual({ ok: true, value: 50.55 });
    expect(decodeEssPressure(h('a0 8c 0f 00'))).toEqual({ ok: true, value: 1019.04 });
  });

  it('heart rate, including u16 values, skin contact and RR intervals', () => {
    expect(decodeHeartRate(h('06 5A'))).toEqual({ ok: true, value: { heart_rate: 90, skin_contact: true } });
    expect(decodeHeartRate(h('01 2C 01'))).toEqual({ ok: true, value: { heart_rate: 300 } });
    expect(decodeHeartRate(h('18 50 10 00 00 04'))).toEqual({
      ok: true,
      value: { heart_rate: 80, energy_expended: 16, rr_intervals: [1] },
    });
    expect(decodeBodySensorLocation(h('01'))).toEqual({ ok: true, value: 'chest' });
  });

  it('health thermometer with IEEE-11073 FLOAT', () => {
    expect(decodeHtsMeasurement(h('00 4C 0E 00 FE'))).toEqual({
      ok: true,
      value: { temperature: 36.6, unit: 'celsius' },
    });
    expect(decodeHtsMeasurement(h('00 FC 08 00 FE'))).toEqual({
      ok: true,
      value: { temperature: 23, unit: 'celsius' },
    });
    // Older sample: integer °C, exponent 0; Fahrenheit is converted.
    expect(decodeHtsMeasurement(h('00 17 00 00 00'))).toMatchObject({ ok: true, value: { temperature: 23 } });
    expect(decodeHtsMeasurement(h('01 D4 03 00 FF'))).toMatchObject({ ok: true, value: { temperature: 36.67 } });
    expect(decodeHtsMeasurement(h('02 4C 0E 00 FE E8 07 0B 19 0A 1E 00'))).toMatchObject({
      ok: true,
      value: { temperature: 36.6, timestamp: '2024-11-25T10:30:00' },
    });
    expect(decodeIeee11073Float(h('FF FF 7F 00'))).toEqual({ ok: false, error: 'FLOAT: NaN' });
    expect(decodeIeee11073Float(h('18 FC FF FE'))).toEqual({ ok: true, value: -10 });
  });

  it('battery, DIS strings and PnP ID', () => {
    expect(decodeBatteryLevel(h('5F'))).toEqual({ ok: true, value: 95 });
    expect(decodeBatteryLevel(h('65'))).toMatchObject({ ok: false });
    expect(decodeUtf8(Buffer.from('Manufacturer\0'))).toEqual({ ok: true, value: 'Manufacturer' });
    expect(decodeUtf8(h('C3 28'))).toEqual({ ok: false, error: 'not valid UTF-8' });
    expect(decodePnpId(h('01 00 00 00 00 01 00'))).toEqual({
      ok: true,
      value: { vendor_id_source: 1, vendor_id: 0, product_id: 0, product_version: 1 },
    });
  });
});

describe('BTHome v2', () => {
  it('decodes the plain vectors (noble data starts at the device-info byte)', () => {
    expect(decodeBthome(h('40 02 29 09 03 BF 13'))).toEqual({
      ok: true,
      value: { encrypted: false, triggerBased: false, values: { temperature: 23.45, humidity: 50.55 } },
    });
    expect(decodeBthome(h('40 00 2A 01 5F 02 29 09 03 BF 13'))).toEqual({
      ok: true,
      value: {
        encrypted: false,
        triggerBased: false,
        packetId: 42,
        values: { battery: 95, temperature: 23.45, humidity: 50.55 },
      },
    });
  });

  it('numbers repeated properties and decodes binary sensors, buttons and text', () => {
    const r = decodeBthome(h('44 02 29 09 02 F8 FD 2D 01 3A 04 53 03 61 62 63'));
    expect(r).toEqual({
      ok: true,
      value: {
        encrypted: false,
        triggerBased: true,
        values: { temperature: 23.45, temperature_2: -5.2, window: true, button: 'long_press', text: 'abc' },
      },
    });
  });

  it('numbers buttons by position and leaves out those that report "none" (not pressed)', () => {
    const r = decodeBthome(h('44 3A 01 3A 00 3A 02'));
    expect(r.ok && r.value.values).toEqual({ button: 'press', button_3: 'double_press' });
  });

  it('decodes speed, acceleration (sint32 × 10⁻⁶) and light level, and firmware versions as dotted text', () => {
    // 0x62 -1.5 m/s, 0x63 9.81 m/s², 0x64 level 3, 0xF0 type 1, 0xF1 4.2.1.0, 0xF2 4.1.0.
    const r = decodeBthome(h('40 62 A0 1C E9 FF 63 50 B0 95 00 64 03 F0 01 00 F1 00 01 02 04 F2 00 01 04'));
    expect(r.ok && r.value).toMatchObject({
      values: {
        speed: -1.5,
        acceleration: 9.81,
        light_level: 3,
        device_type_id: 1,
        firmware_version: '4.2.1.0',
        firmware_version_2: '4.1.0',
      },
    });
    expect(r.ok && r.value.stoppedEarly).toBeUndefined();
  });

  it('names binary objects apart from numeric ones: 0x10 is power_on beside 0x0B power in W', () => {
    const r = decodeBthome(h('40 0B 10 27 00 10 01 11 00'));
    expect(r.ok && r.value.values).toEqual({ power: 100, power_on: true, opening: false });
  });

  it('publishes no event for dimmer code 0 and leaves out (and reports) an event code BTHome does not define', () => {
    const r = decodeBthome(h('44 3C 00 00 3C 01 03 3A 07 3C 05 01 3A 80'));
    expect(r.ok && r.value.values).toEqual({ dimmer_2: 'rotate_left_3', button_2: 'hold_press' });
    expect(r.ok && r.value.ignored).toEqual([
      'button event code 0x07 is not defined',
      'dimmer event code 0x05 is not defined',
    ]);
  });

  it('stops at an unknown id or a truncated object and keeps what came before', () => {
    expect(decodeBthome(h('40 02 29 09 FE 01'))).toMatchObject({
      ok: true,
      value: { values: { temperature: 23.45 }, stoppedEarly: 'unknown object id 0xfe at offset 3' },
    });
    expect(decodeBthome(h('40 02 29 09 03 BF'))).toMatchObject({
      ok: true,
      value: { values: { temperature: 23.45 }, stoppedEarly: 'object 0x03 (humidity) truncated' },
    });
    expect(decodeBthome(h('20 02 29 09'))).toEqual({
      ok: false,
      error: 'bthome: version 1 is not supported (only v2)',
    });
  });

  it('decrypts the bthome.io encryption example (AES-CCM, 4-byte MIC)', () => {
    const key = h('231d39c1d7cc1ab1aee224cd096db932');
    const mac = h('5448E68F80A5');
    // bthome.io/encryption: ciphertext a47266c95f73, counter 00112233, MIC 78237214.
    const frame = h('41 a47266c95f73 00112233 78237214');
    expect(decodeBthome(frame, { bindKey: key, mac })).toEqual({
      ok: true,
      value: {
        encrypted: true,
        triggerBased: false,
        counter: 0x33221100,
        values: { temperature: 25.06, humidity: 50.55 },
      },
    });
    expect(decodeBthome(frame, { bindKey: h('00'.repeat(16)), mac })).toMatchObject({ ok: false });
    expect(decodeBthome(frame, { mac })).toEqual({
      ok: false,
      error: 'bthome: encrypted frame and no bind_key configured',
    });
    const tampered = Buffer.from(frame);
    tampered[3]! ^= 0x01;
    expect(decodeBthome(tampered, { bindKey: key, mac })).toMatchObject({ ok: false });
  });
});

describe('generic codecs', () => {
  it('round-trips every numeric codec with scale', () => {
    const cases = [
      ['int8', -5, 1],
      ['uint8', 200, 1],
      ['int16le', -5.2, 0.01],
      ['int16be', 1234, 0.1],
      ['uint16le', 65535, 1],
      ['uint16be', 513, 1],
      ['int32le', -100000, 1],
      ['int32be', 7, 0.5],
      ['uint32le', 4000000000, 1],
      ['uint32be', 99, 1],
      ['float32le', 1.5, 1],
      ['float32be', -2.25, 1],
      ['float64le', Math.PI, 1],
    ] as const;
    for (const [codec, value, scale] of cases) {
      const enc = encodeWithCodec(codec, value, scale);
      expect(enc.ok, codec).toBe(true);
      if (enc.ok) expect(decodeWithCodec(codec, enc.value, scale), codec).toEqual({ ok: true, value });
    }
    expect(decodeWithCodec('int16le', h('29 09'), 0.01)).toEqual({ ok: true, value: 23.45 });
    expect(encodeWithCodec('uint8', 256)).toEqual({ ok: false, error: 'uint8: 256 is out of range' });
    expect(encodeWithCodec('uint8', 'x')).toEqual({ ok: false, error: 'uint8: expected a number' });
  });

  it('handles utf8, json and raw', () => {
    expect(decodeWithCodec('utf8', Buffer.from('hi'))).toEqual({ ok: true, value: 'hi' });
    expect(decodeWithCodec('json', Buffer.from('{"a":1}'))).toEqual({ ok: true, value: { a: 1 } });
    expect(decodeWithCodec('json', Buffer.from('{'))).toEqual({ ok: false, error: 'json: not valid JSON' });
    expect(decodeWithCodec('raw', h('01ff'))).toEqual({ ok: true, value: '01ff' });
    expect(encodeWithCodec('raw', '01ff')).toEqual({ ok: true, value: h('01ff') });
  });
});

describe('NDJSON over NUS', () => {
  it('reassembles lines across chunks; a line that is not a JSON object is text, as sent', () => {
    const s = new NdjsonSplitter(64);
    expect(s.push(Buffer.from('{"temp'))).toEqual([]);
    expect(s.push(Buffer.from('erature":21.5}\n{"a":1}\r\n[1]\n  Hello World!\n \n42\n'))).toEqual([
      { kind: 'object', value: { temperature: 21.5 } },
      { kind: 'object', value: { a: 1 } },
      { kind: 'text', line: '[1]' },
      { kind: 'text', line: '  Hello World!' },
      { kind: 'text', line: '42' },
    ]);
  });

  it('keeps a UTF-8 character that a notification boundary cuts in two', () => {
    const s = new NdjsonSplitter(64);
    const line = Buffer.from('{"unit":"°C","t":1}\n');
    const cut = line.indexOf(0xb0); // the second byte of "°" (c2 b0)
    expect(s.push(line.subarray(0, cut))).toEqual([]);
    expect(s.push(line.subarray(cut))).toEqual([{ kind: 'object', value: { unit: '°C', t: 1 } }]);
  });

  it('drops an over-long line whole and recovers at the next newline', () => {
    const s = new NdjsonSplitter(16);
    expect(s.push(Buffer.from('x'.repeat(40)))).toEqual([]);
    expect(s.push(Buffer.from('yyy\n{"ok":true}\n'))).toEqual([
      { kind: 'dropped', error: 'ndjson: line longer than 16 bytes dropped' },
      { kind: 'object', value: { ok: true } },
    ]);
  });
});

// A deterministic PRNG so a fuzz failure reproduces.
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('fuzz: random, truncated, oversized and mutated inputs never throw', () => {
  const decoders: [string, (b: Uint8Array) => { ok: boolean }][] = [
    ['bthome', (b) => decodeBthome(b)],
    [
      'bthome-encrypted',
      (b) => decodeBthome(b, { bindKey: h('231d39c1d7cc1ab1aee224cd096db932'), mac: h('5448E68F80A5') }),
    ],
    ['ess-temperature', decodeEssTemperature],
    ['ess-humidity', decodeEssHumidity],
    ['ess-pressure', decodeEssPressure],
    ['heart-rate', decodeHeartRate],
    ['hts', decodeHtsMeasurement],
    ['battery', decodeBatteryLevel],
    ['pnp', decodePnpId],
    ['utf8', decodeUtf8],
    ['codec-json', (b) => decodeWithCodec('json', b)],
    ['codec-int32be', (b) => decodeWithCodec('int32be', b, 0.01)],
    ['codec-float32le', (b) => decodeWithCodec('float32le', b)],
  ];
  const seeds = [
    h('40 02 29 09 03 BF 13'),
    h('40 00 2A 01 5F 02 29 09 03 BF 13 53 05 41 42'),
    h('41 a47266c95f73 00112233 78237214'),
    h('06 5A'),
    h('1F 2C 01 10 00 00 04 00 02'),
    h('06 4C 0E 00 FE E8 07 0B 19 0A 1E 00 02'),
    Buffer.from('{"t":21.5}'),
  ];

  it.each(decoders)('%s', (_name, decode) => {
    const rnd = prng(0xb1e);
    const inputs: Uint8Array[] = [new Uint8Array(0), new Uint8Array(300).fill(0xff)];
    for (const seed of seeds) {
      for (let cut = 0; cut <= seed.length; cut++) inputs.push(seed.subarray(0, cut));
      inputs.push(Buffer.concat([seed, Buffer.alloc(40, 0x53)]));
      for (let m = 0; m < 200; m++) {
        const mutated = Buffer.from(seed);
        mutated[Math.floor(rnd() * mutated.length)] = Math.floor(rnd() * 256);
        inputs.push(mutated);
      }
    }
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(rnd() * 40);
      inputs.push(Uint8Array.from({ length: len }, () => Math.floor(rnd() * 256)));
    }
    let oks = 0;
    for (const input of inputs) {
      const r = decode(input);
      expect(typeof r.ok).toBe('boolean');
      if (r.ok) oks++;
    }
    // Both outcomes must occur: a decoder that rejects (or accepts) everything is broken.
    expect(oks).toBeGreaterThan(0);
    expect(oks).toBeLessThan(inputs.length);
  });
});

describe('the encryption helper used by the simulator agrees with the decoder', () => {
  it('round-trips a frame encrypted with node:crypto', () => {
    const key = h('00112233445566778899aabbccddeeff');
    const mac = h('C0FFEE000001');
    const plain = h('02 29 09');
    const counter = h('05000000');
    const nonce = Buffer.concat([mac, h('d2fc41'), counter]);
    const c = createCipheriv('aes-128-ccm', key, nonce, { authTagLength: 4 });
    c.setAAD(Buffer.alloc(0), { plaintextLength: plain.length });
    const ct = Buffer.concat([c.update(plain), c.final()]);
    const frame = Buffer.concat([h('41'), ct, counter, c.getAuthTag()]);
    expect(decodeBthome(frame, { bindKey: key, mac })).toMatchObject({
      ok: true,
      value: { counter: 5, values: { temperature: 23.45 } },
    });
  });
});
