// protocols.md §6.2 vectors for the SMP CRC, header, CBOR and serial framing layers.
import { describe, expect, it } from 'vitest';
import { cborToJson, decodeCbor, encodeCbor } from '../../../adapters/common/smp/cbor.js';
import { crc16Xmodem } from '../../../adapters/common/smp/crc16.js';
import { decodeSmpHeader } from '../../../adapters/common/smp/header.js';
import { decodeSmpMessage, encodeSmpMessage } from '../../../adapters/common/smp/packet.js';
import { hex, toHex } from './random.js';

const echoHello = hex('02 00 00 09 00 00 00 00 A1 61 64 65 68 65 6C 6C 6F');

describe('CRC-16/XMODEM', () => {
  it('matches the catalogue check value', () => {
    expect(crc16Xmodem(new TextEncoder().encode('123456789'))).toBe(0x31c3);
  });
  it('matches the echo request vector and leaves residue 0 over packet + CRC', () => {
    expect(crc16Xmodem(echoHello)).toBe(0x256f);
    expect(crc16Xmodem(Uint8Array.from([...echoHello, 0x25, 0x6f]))).toBe(0);
  });
});

describe('SMP header and message', () => {
  it('encodes the v1 echo request vector', () => {
    const packet = encodeSmpMessage({ op: 2, version: 1, group: 0, id: 0, seq: 0, body: { d: 'hello' } });
    expect(toHex(packet)).toBe(toHex(echoHello));
  });
  it('encodes the v2 variant with 0x0A in byte 0', () => {
    const packet = encodeSmpMessage({ op: 2, version: 2, group: 0, id: 0, seq: 0, body: { d: 'hello' } });
    expect(toHex(packet.subarray(0, 4))).toBe('0a000009');
  });
  it('encodes OS reset and image state read', () => {
    expect(toHex(encodeSmpMessage({ op: 2, version: 1, group: 0, id: 5, seq: 0, body: {} }))).toBe(
      '02000001000000' + '05a0',
    );
    expect(toHex(encodeSmpMessage({ op: 0, version: 1, group: 1, id: 0, seq: 0, body: {} }))).toBe(
      '000000010001' + '0000a0',
    );
  });
  it('decodes the echo response vector', () => {
    const res = decodeSmpMessage(hex('03 00 00 09 00 00 00 00 A1 61 72 65 68 65 6C 6C 6F'));
    expect(res).toEqual({
      ok: true,
      value: { header: { op: 3, version: 1, flags: 0, length: 9, group: 0, seq: 0, id: 0 }, body: { r: 'hello' } },
    });
  });
  it('rejects short headers, unknown ops, length mismatches and non-map bodies with a reason', () => {
    expect(decodeSmpHeader(hex('0300')).ok).toBe(false);
    expect(decodeSmpMessage(hex('07 00 00 00 00 00 00 00'))).toMatchObject({ ok: false, reason: /op 7/ });
    expect(decodeSmpMessage(hex('03 00 00 05 00 00 00 00 A0'))).toMatchObject({ ok: false, reason: /says 5/ });
    expect(decodeSmpMessage(hex('03 00 00 01 00 00 00 00 01'))).toMatchObject({ ok: false, reason: /not a CBOR map/ });
  });
});

describe('CBOR', () => {
  it('decodes an image state response with byte strings, arrays and booleans', () => {
    const body = encodeCbor({
      images: [{ slot: 0, version: '1.2.3', hash: hex('0102ff'), bootable: true, active: true, confirmed: true }],
      splitStatus: 0,
    });
    const decoded = decodeCbor(body);
    expect(decoded.ok).toBe(true);
    expect(decoded.ok && cborToJson(decoded.value)).toEqual({
      images: [{ slot: 0, version: '1.2.3', hash: '0102ff', bootable: true, active: true, confirmed: true }],
      splitStatus: 0,
    });
  });
  it('reads indefinite-length maps, arrays and strings as written by older Zephyr encoders', () => {
    // {_ "r": [_ 1, -2], "s": (_ "ab", "c")}
    const decoded = decodeCbor(hex('BF 61 72 9F 01 21 FF 61 73 7F 62 61 62 61 63 FF FF'));
    expect(decoded).toEqual({ ok: true, value: { r: [1, -2], s: 'abc' } });
  });
  it('reads half, single and double floats and 64-bit integers', () => {
    expect(decodeCbor(hex('F9 3E 00'))).toEqual({ ok: true, value: 1.5 });
    expect(decodeCbor(hex('FA 47 C3 50 00'))).toEqual({ ok: true, value: 100000 });
    expect(decodeCbor(hex('FB 3F F1 99 99 99 99 99 9A'))).toEqual({ ok: true, value: 1.1 });
    expect(decodeCbor(hex('1B FF FF FF FF FF FF FF FF'))).toEqual({ ok: true, value: 18446744073709551615n });
  });
  it('round-trips integers at every width boundary', () => {
    for (const n of [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -1, -24, -25, -256, -257, -(2 ** 40)]) {
      expect(decodeCbor(encodeCbor(n))).toEqual({ ok: true, value: n });
    }
  });
  it('keeps a "__proto__" key as data', () => {
    const decoded = decodeCbor(hex('A1 69 5F 5F 70 72 6F 74 6F 5F 5F 01'));
    expect(decoded.ok && Object.getPrototypeOf(decoded.value)).toBe(Object.prototype);
    expect(decoded.ok && Object.keys(decoded.value as object)).toEqual(['__proto__']);
  });
  it('returns typed errors for truncation, trailing bytes, bad UTF-8, lone breaks and deep nesting', () => {
    expect(decodeCbor(hex('A1 61'))).toMatchObject({ ok: false, reason: /truncated/ });
    expect(decodeCbor(hex('01 02'))).toMatchObject({ ok: false, reason: /trailing/ });
    expect(decodeCbor(hex('61 FF'))).toMatchObject({ ok: false, reason: /UTF-8/ });
    expect(decodeCbor(hex('FF'))).toMatchObject({ ok: false, reason: /break/ });
    expect(decodeCbor(hex('5B 00 00 00 10 00 00 00 00'))).toMatchObject({ ok: false, reason: /exceeds/ });
    expect(decodeCbor(new Uint8Array(100).fill(0x81))).toMatchObject({ ok: false, reason: /nesting/ });
  });
});
