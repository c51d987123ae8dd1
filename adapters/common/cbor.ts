// cbor-x, loaded on first use: a gateway whose devices never send CBOR does not pay for it (its code, its
// native string extractor and the modules that find that: ~0.75 MB of idle RSS, docs/benchmarks.md, Core).
// The callers decode synchronously, so it is loaded with require() (cbor-x ships a CommonJS build for Node).
import { createRequire } from 'node:module';

type CborX = typeof import('cbor-x');

const require = createRequire(import.meta.url);
let cborX: CborX | undefined;

/** The cbor-x module (loaded at the first call). */
export function cbor(): CborX {
  cborX ??= require('cbor-x') as CborX;
  return cborX;
}

export function cborDecode(bytes: Uint8Array): unknown {
  return cbor().decode(bytes);
}

export function cborEncode(value: unknown): Buffer {
  return cbor().encode(value);
}
