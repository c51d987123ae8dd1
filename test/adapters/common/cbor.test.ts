// CBOR written to devices in preferred serialization (RFC 8949 §4.1): strict decoders such as zcbor in canonical
// mode refuse a 16-bit map count for one entry or a float64 where float32 is exact.
import { describe, expect, it } from 'vitest';
import { cborDecode, cborEncode } from '../../../adapters/common/cbor.js';

const hex = (value: unknown) => cborEncode(value).toString('hex');

describe('cborEncode', () => {
  it('writes map headers as short as the entry count', () => {
    expect(hex({ led: 'on' })).toBe('a1636c6564626f6e');
    expect(hex({})).toBe('a0');
    const big = Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`k${i}`, i]));
    expect(hex(big).slice(0, 4)).toBe('b818');
    // Maps with integer keys (SenML-CBOR labels) stay plain maps: no tag 259 in front.
    expect(hex(new Map([[0, 'a']]))).toBe('a1006161');
  });

  it('writes floats as float32 when exact and float64 only when needed', () => {
    expect(hex(1.5)).toBe('fa3fc00000');
    expect(hex(-1.25)).toBe('fabfa00000');
    expect(hex(21.5)).toBe('fa41ac0000');
    expect(hex(0.1)).toBe('fb3fb999999999999a');
    expect(hex({ t: 1.5, u: 0.1 })).toBe('a26174fa3fc000006175fb3fb999999999999a');
    expect(hex([2.5, 3])).toBe('82fa4020000003');
  });

  it('writes integers as integers, beyond 32 bits too', () => {
    expect(hex(0)).toBe('00');
    expect(hex(23)).toBe('17');
    expect(hex(-24)).toBe('37');
    expect(hex(100000)).toBe('1a000186a0');
    expect(hex(2 ** 40)).toBe('1b0000010000000000');
    expect(hex(-(2 ** 40))).toBe('3b000000ffffffffff');
  });

  it('keeps byte strings untagged and the values readable', () => {
    expect(hex(Buffer.from([1, 2]))).toBe('420102');
    expect(hex(new Uint8Array([1, 2]))).toBe('420102');
    const value = { a: [1.5, 0.1, 'x', true, null], b: { c: -7 } };
    expect(cborDecode(cborEncode(value))).toEqual(value);
  });
});
