// What a device's payload turns into: nesting limits that keep its state writable, and text values that would
// change as numbers stay text.
import { describe, expect, it } from 'vitest';
import { decodeStatePayload } from '../../../adapters/coap/content-format.js';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';

stopHarnessesAfterEach();

const nested = (levels: number): string => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

describe('CoAP payload values', () => {
  it('refuses JSON nested deeper than 16 levels, however deep, and keeps 16', () => {
    expect(decodeStatePayload(50, Buffer.from(`{"a":${nested(15)}}`))).toMatchObject({ ok: true });
    for (const levels of [16, 100, 30_000]) {
      const result = decodeStatePayload(50, Buffer.from(`{"a":${nested(levels)}}`));
      expect(result).toEqual({ ok: false, code: '4.00', error: 'JSON payload nests deeper than 16 levels' });
    }
    expect(decodeStatePayload(50, Buffer.from(nested(30_000)), 'deep')).toMatchObject({ ok: false, code: '4.00' });
  });

  it('takes JSON and SenML-JSON sent as C strings with their trailing NUL (sizeof), and no NUL inside', () => {
    const json = Buffer.from('{"temperature":21.5}\0');
    expect(decodeStatePayload(50, json)).toEqual({ ok: true, values: { temperature: 21.5 } });
    expect(decodeStatePayload(undefined, json)).toEqual({ ok: true, values: { temperature: 21.5 } });
    expect(decodeStatePayload(50, Buffer.from('21.5\0\0'), 'temperature')).toEqual({
      ok: true,
      values: { temperature: 21.5 },
    });
    expect(decodeStatePayload(110, Buffer.from('[{"n":"temperature","v":21.5}]\0'))).toEqual({
      ok: true,
      values: { temperature: 21.5 },
    });
    expect(decodeStatePayload(50, Buffer.from('{"a":\0 1}'))).toMatchObject({ ok: false, code: '4.00' });
  });

  it('keeps text values as text when a number would change them', () => {
    const values = (text: string) => {
      const result = decodeStatePayload(0, Buffer.from(text));
      if (!result.ok) throw new Error(result.error);
      return result.values;
    };
    expect(values('serial=0012345678901234567890&big=1e999&id=12345678901234567890')).toEqual({
      serial: '0012345678901234567890',
      big: '1e999',
      id: '12345678901234567890',
    });
    expect(values('t=21.5&n=-3&z=0&f=0.25&e=1e3&max=9007199254740991')).toEqual({
      t: 21.5,
      n: -3,
      z: 0,
      f: 0.25,
      e: 1000,
      max: 9007199254740991,
    });
  });

  it('decodes CBOR bignums up to 32 bytes as numbers and keeps longer ones as hex, without building a BigInt', () => {
    // {"small": 2(h'0102'), "negative": 3(h'00ff'), "long": 2(h'ab' x 40)}
    const long = Buffer.alloc(40, 0xab);
    const cbor = Buffer.concat([
      Buffer.from([0xa3, 0x65, ...Buffer.from('small'), 0xc2, 0x42, 0x01, 0x02]),
      Buffer.from([0x68, ...Buffer.from('negative'), 0xc3, 0x42, 0x00, 0xff]),
      Buffer.from([0x64, ...Buffer.from('long'), 0xc2, 0x58, long.length]),
      long,
    ]);
    expect(decodeStatePayload(60, cbor)).toEqual({
      ok: true,
      values: { small: 258, negative: -256, long: `0x${long.toString('hex')}` },
    });
  });

  it('answers 4.00 to a too deeply nested state, and the device goes on reporting', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const deep = await h.send('PUT', '/ps/dev1', `{"a":${nested(40)}}`, { contentFormat: 50 });
    expect(deep.code).toBe('4.00');
    const state = h.gw.waitForMessage<Record<string, unknown>>(h.mqtt, 'zephyr2mqtt/dev1', (m) => m.after === 1);
    expect((await h.send('PUT', '/ps/dev1', '{"after":1}', { contentFormat: 50 })).code).toBe('2.04');
    expect(await state).not.toHaveProperty('a');
  });
});
