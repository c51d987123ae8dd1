// The CBOR subset SMP uses (RFC 8949): ints, byte/text strings, arrays, maps, simple values and floats,
// definite or indefinite length; tags are read through. Hand-written so the decoder is pure, bounded
// (depth, lengths checked against the input before allocating) and returns a typed error instead of throwing.
import { type DecodeResult, fail, ok } from './result.js';

export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | undefined
  | Uint8Array
  | CborValue[]
  | { [key: string]: CborValue };

export const MAX_CBOR_DEPTH = 32;

class CborError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

export function decodeCbor(bytes: Uint8Array): DecodeResult<CborValue> {
  const reader = new Reader(bytes);
  try {
    const value = reader.item(0);
    if (reader.pos !== bytes.length) return fail(`${bytes.length - reader.pos} trailing bytes after CBOR item`);
    return ok(value);
  } catch (err) {
    if (err instanceof CborError) return fail(err.message);
    return fail(`invalid CBOR: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const BREAK = Symbol('break');

class Reader {
  pos = 0;
  readonly #view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new CborError(`truncated CBOR at offset ${this.pos}`);
  }

  #argument(info: number): number | bigint {
    if (info < 24) return info;
    switch (info) {
      case 24:
        this.#need(1);
        return this.#view.getUint8(this.pos++);
      case 25:
        this.#need(2);
        this.pos += 2;
        return this.#view.getUint16(this.pos - 2);
      case 26:
        this.#need(4);
        this.pos += 4;
        return this.#view.getUint32(this.pos - 4);
      case 27: {
        this.#need(8);
        this.pos += 8;
        const big = this.#view.getBigUint64(this.pos - 8);
        return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
      }
      default:
        throw new CborError(`reserved additional information ${info} at offset ${this.pos - 1}`);
    }
  }

  #length(info: number): number {
    const n = this.#argument(info);
    if (typeof n === 'bigint' || n > this.bytes.length) throw new CborError(`length ${n} exceeds the input`);
    return n;
  }

  item(depth: number): CborValue {
    const v = this.#itemOrBreak(depth);
    if (v === BREAK) throw new CborError(`unexpected break at offset ${this.pos - 1}`);
    return v;
  }

  #itemOrBreak(depth: number): CborValue | typeof BREAK {
    if (depth > MAX_CBOR_DEPTH) throw new CborError(`nesting deeper than ${MAX_CBOR_DEPTH}`);
    this.#need(1);
    const initial = this.bytes[this.pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0:
        return this.#argument(info);
      case 1: {
        const n = this.#argument(info);
        return typeof n === 'bigint' ? -1n - n : -1 - n;
      }
      case 2:
        return info === 31 ? this.#indefiniteString(2, depth) : this.#bytes(this.#length(info));
      case 3:
        return info === 31 ? this.#indefiniteString(3, depth) : this.#text(this.#length(info));
      case 4:
        return this.#array(info, depth);
      case 5:
        return this.#map(info, depth);
      case 6:
        this.#argument(info); // tag number: SMP defines none we interpret, keep the tagged value
        return this.item(depth + 1);
      default:
        return this.#simple(info);
    }
  }

  #bytes(n: number): Uint8Array {
    this.#need(n);
    this.pos += n;
    return this.bytes.slice(this.pos - n, this.pos);
  }

  #text(n: number): string {
    const raw = this.#bytes(n);
    try {
      return utf8.decode(raw);
    } catch {
      throw new CborError(`invalid UTF-8 in text string at offset ${this.pos - n}`);
    }
  }

  #indefiniteString(major: 2 | 3, depth: number): Uint8Array | string {
    const chunks: Uint8Array[] = [];
    for (;;) {
      this.#need(1);
      const initial = this.bytes[this.pos]!;
      if (initial === 0xff) {
        this.pos++;
        break;
      }
      if (initial >> 5 !== major || (initial & 0x1f) === 31) {
        throw new CborError(`bad chunk in indefinite string at offset ${this.pos}`);
      }
      const chunk = this.item(depth + 1);
      chunks.push(typeof chunk === 'string' ? utf8Encoder.encode(chunk) : (chunk as Uint8Array));
    }
    const joined = Buffer.concat(chunks);
    return major === 2 ? new Uint8Array(joined) : joined.toString('utf8');
  }

  #array(info: number, depth: number): CborValue[] {
    const out: CborValue[] = [];
    if (info === 31) {
      for (;;) {
        const v = this.#itemOrBreak(depth + 1);
        if (v === BREAK) return out;
        out.push(v);
      }
    }
    const n = this.#length(info);
    for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
    return out;
  }

  #map(info: number, depth: number): { [key: string]: CborValue } {
    const out: { [key: string]: CborValue } = {};
    const n = info === 31 ? Number.POSITIVE_INFINITY : this.#length(info);
    for (let i = 0; i < n; i++) {
      const key = this.#itemOrBreak(depth + 1);
      if (key === BREAK) {
        if (info === 31) return out;
        throw new CborError(`unexpected break at offset ${this.pos - 1}`);
      }
      if (key !== null && typeof key === 'object') throw new CborError('map keys must be scalars');
      // defineProperty keeps a "__proto__" key from a device as data instead of changing the prototype.
      Object.defineProperty(out, String(key), {
        value: this.item(depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }

  #simple(info: number): CborValue | typeof BREAK {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 25:
        this.#need(2);
        this.pos += 2;
        return halfToNumber(this.#view.getUint16(this.pos - 2));
      case 26:
        this.#need(4);
        this.pos += 4;
        return this.#view.getFloat32(this.pos - 4);
      case 27:
        this.#need(8);
        this.pos += 8;
        return this.#view.getFloat64(this.pos - 8);
      case 31:
        return BREAK;
      default:
        if (info < 24) return undefined; // unassigned simple value
        if (info === 24) {
          this.#need(1);
          this.pos++;
          return undefined;
        }
        throw new CborError(`reserved simple value ${info} at offset ${this.pos - 1}`);
    }
  }
}

function halfToNumber(half: number): number {
  const exp = (half >> 10) & 0x1f;
  const mant = half & 0x3ff;
  const sign = half & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (mant + 1024) * 2 ** (exp - 25);
}

/** Encodes a JSON-like value with definite lengths and the shortest integer forms (what Zephyr's zcbor expects). */
export function encodeCbor(value: CborValue): Uint8Array {
  const out: number[] = [];
  writeItem(out, value, 0);
  return Uint8Array.from(out);
}

function writeHead(out: number[], major: number, n: number | bigint): void {
  const m = major << 5;
  if (typeof n === 'bigint' || n > 0xffffffff) {
    const big = BigInt(n);
    out.push(m | 27);
    for (let shift = 56n; shift >= 0n; shift -= 8n) out.push(Number((big >> shift) & 0xffn));
  } else if (n < 24) out.push(m | n);
  else if (n <= 0xff) out.push(m | 24, n);
  else if (n <= 0xffff) out.push(m | 25, n >> 8, n & 0xff);
  else out.push(m | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

function writeItem(out: number[], value: CborValue, depth: number): void {
  if (depth > MAX_CBOR_DEPTH) throw new RangeError(`CBOR nesting deeper than ${MAX_CBOR_DEPTH}`);
  if (value === null) out.push(0xf6);
  else if (value === undefined) out.push(0xf7);
  else if (value === false) out.push(0xf4);
  else if (value === true) out.push(0xf5);
  else if (typeof value === 'bigint') {
    if (value >= 0n) writeHead(out, 0, value);
    else writeHead(out, 1, -1n - value);
  } else if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) {
      if (value >= 0) writeHead(out, 0, value);
      else writeHead(out, 1, -1 - value);
    } else {
      const buf = Buffer.alloc(9);
      buf[0] = 0xfb;
      buf.writeDoubleBE(value, 1);
      out.push(...buf);
    }
  } else if (typeof value === 'string') {
    const bytes = utf8Encoder.encode(value);
    writeHead(out, 3, bytes.length);
    for (const b of bytes) out.push(b);
  } else if (value instanceof Uint8Array) {
    writeHead(out, 2, value.length);
    for (const b of value) out.push(b);
  } else if (Array.isArray(value)) {
    writeHead(out, 4, value.length);
    for (const v of value) writeItem(out, v, depth + 1);
  } else {
    const entries = Object.entries(value);
    writeHead(out, 5, entries.length);
    for (const [k, v] of entries) {
      writeItem(out, k, depth + 1);
      writeItem(out, v, depth + 1);
    }
  }
}

/** A JSON-serialisable view of a decoded value: byte strings become lowercase hex, big integers decimal strings. */
export function cborToJson(value: CborValue): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) return value.map(cborToJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, { value: cborToJson(v), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value ?? null;
}
