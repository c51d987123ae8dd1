// cbor-x, loaded on first use: a gateway whose devices never send CBOR does not pay for it (its code, its
// native string extractor and the modules that find that: ~0.75 MB of idle RSS, docs/benchmarks.md, Core).
// The callers decode synchronously, so it is loaded with require() (cbor-x ships a CommonJS build for Node).
import { createRequire } from 'node:module';

type CborX = typeof import('cbor-x');

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

export function cborEncode(value: unknown): Buffer {
  return cbor().encode(value);
}
