// cbor-x, loaded on first use: a gateway whose devices never send CBOR does not pay for it (its code, its
// native string extractor and the modules that find that: ~0.75 MB of idle RSS, docs/benchmarks.md, Core).
// The callers decode synchronously, so it is loaded with require() (cbor-x ships a CommonJS build for Node).
import { createRequire } from 'node:module';

type CborX = typeof import('cbor-x');
type CborEncoder = InstanceType<CborX['Encoder']>;

const require = createRequire(import.meta.url);
let cborX: CborX | undefined;

/** The cbor-x module (loaded at the first call). */
export function cbor(): CborX {
  if (!cborX) {
    cborX = require('cbor-x') as CborX;
    // Bignums (tags 2 and 3): cbor-x builds the BigInt in time quadratic in its length (0.5 s of blocked event loop
    // for one 64 KB value a device can send). Up to 32 bytes they are numbers as before; longer ones stay hex text.
    cborX.addExtension({
      Class: BigBytes,
      tag: 2,
      encode: notEncoded,
      decode: (bytes: Uint8Array) => bignum(bytes, false),
    });
    cborX.addExtension({
      Class: BigBytes,
      tag: 3,
      encode: notEncoded,
      decode: (bytes: Uint8Array) => bignum(bytes, true),
    });
    addFloat32Extension(cborX);
  }
  return cborX;
}

/** Never instantiated: addExtension needs a class, and only decoding is taken over. */
class BigBytes {}

function notEncoded(): never {
  throw new Error('BigBytes values are never encoded');
}

const MAX_BIGNUM_BYTES = 32;

function bignum(bytes: Uint8Array, negative: boolean): bigint | string {
  const hex = Buffer.from(bytes).toString('hex');
  if (bytes.length > MAX_BIGNUM_BYTES) return `${negative ? '-1-' : ''}0x${hex}`;
  const magnitude = hex === '' ? 0n : BigInt(`0x${hex}`);
  return negative ? -1n - magnitude : magnitude;
}

export function cborDecode(bytes: Uint8Array): unknown {
  return cbor().decode(bytes);
}

let encoder: CborEncoder | undefined;

/**
 * Preferred serialization (RFC 8949 §4.1), which strict decoders (zcbor in canonical mode) insist on: map headers
 * as short as the entry count allows (cbor-x writes a 16-bit count by default), floats as float32 when that is
 * exact, integers beyond 32 bits as integers (cbor-x writes them as float64). cbor-x never writes float16, so a
 * value that would fit one takes float32.
 */
export function cborEncode(value: unknown): Buffer {
  const x = cbor();
  encoder ??= new x.Encoder({ useRecords: false, variableMapSize: true, mapsAsObjects: false, tagUint8Array: false });
  return encoder.encode(preferred(value));
}

/** A number for which float32 is exact. */
class Float32Number {
  constructor(readonly value: number) {}
}

/**
 * cbor-x chooses float32 or float64 per encoder (useFloat32), not per number, and its float32 options round. This
 * untagged extension switches the encoder to float32 for the one number it wraps; cbor-x calls it with the encoder
 * as `this`, and reads useFloat32 afresh for every number. The exact-bytes tests in cbor.test.ts hold it to that.
 */
function addFloat32Extension(x: CborX): void {
  x.addExtension({
    Class: Float32Number,
    tag: undefined as unknown as number,
    encode(this: { useFloat32?: number }, float: Float32Number, encode: (n: number) => Uint8Array) {
      const previous = this.useFloat32;
      this.useFloat32 = x.FLOAT32_OPTIONS.ALWAYS;
      try {
        return encode(float.value);
      } finally {
        this.useFloat32 = previous;
      }
    },
    decode: notDecoded,
  });
}

function notDecoded(): never {
  throw new Error('Float32Number is never decoded');
}

/** The value with its numbers marked for their shortest exact encoding (arrays, maps and plain objects walked). */
function preferred(value: unknown): unknown {
  if (typeof value === 'number') return preferredNumber(value);
  if (Array.isArray(value)) return value.map(preferred);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [preferred(k), preferred(v)]));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, preferred(v)]));
  return value;
}

const TWO_32 = 2 ** 32;
const TWO_64 = 2 ** 64;

function preferredNumber(n: number): unknown {
  if (Number.isInteger(n)) {
    // cbor-x writes -2^32..2^32-1 as integers itself; a bigint takes the 64-bit integer forms.
    return (n >= TWO_32 || n < -TWO_32) && Math.abs(n) < TWO_64 ? BigInt(n) : n;
  }
  return Math.fround(n) === n ? new Float32Number(n) : n;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
