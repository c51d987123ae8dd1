// The generic characteristic codecs of the config mapping (`characteristics[].codec`), both directions.
import type { Codec } from '../config.js';
import { decodeUtf8 } from './gatt-services.js';
import { type DecodeResult, fail, hex, ok, scaled } from './result.js';

type NumericCodec = Exclude<Codec, 'utf8' | 'json' | 'raw'>;

const SIZES: Record<NumericCodec, number> = {
  int8: 1,
  uint8: 1,
  int16le: 2,
  int16be: 2,
  uint16le: 2,
  uint16be: 2,
  int32le: 4,
  int32be: 4,
  uint32le: 4,
  uint32be: 4,
  float32le: 4,
  float32be: 4,
  float64le: 8,
};

function isNumeric(codec: Codec): codec is NumericCodec {
  return codec in SIZES;
}

export function decodeWithCodec(codec: Codec, bytes: Uint8Array, scale = 1): DecodeResult<unknown> {
  if (codec === 'raw') return ok(hex(bytes));
  if (codec === 'utf8') return decodeUtf8(bytes);
  if (codec === 'json') {
    const text = decodeUtf8(bytes);
    if (!text.ok) return text;
    try {
      return ok(JSON.parse(text.value) as unknown);
    } catch {
      return fail('json: not valid JSON');
    }
  }
  const size = SIZES[codec];
  if (bytes.length !== size) return fail(`${codec}: expected ${size} bytes, got ${bytes.length}`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const raw = readNumber(buf, codec);
  if (!Number.isFinite(raw)) return fail(`${codec}: not a finite number`);
  return ok(scaled(raw, scale));
}

function readNumber(buf: Buffer, codec: NumericCodec): number {
  switch (codec) {
    case 'int8':
      return buf.readInt8(0);
    case 'uint8':
      return buf.readUInt8(0);
    case 'int16le':
      return buf.readInt16LE(0);
    case 'int16be':
      return buf.readInt16BE(0);
    case 'uint16le':
      return buf.readUInt16LE(0);
    case 'uint16be':
      return buf.readUInt16BE(0);
    case 'int32le':
      return buf.readInt32LE(0);
    case 'int32be':
      return buf.readInt32BE(0);
    case 'uint32le':
      return buf.readUInt32LE(0);
    case 'uint32be':
      return buf.readUInt32BE(0);
    case 'float32le':
      return buf.readFloatLE(0);
    case 'float32be':
      return buf.readFloatBE(0);
    case 'float64le':
      return buf.readDoubleLE(0);
  }
}

/** The inverse, for `/set`: value ÷ scale, range-checked, in the codec's byte layout. */
export function encodeWithCodec(codec: Codec, value: unknown, scale = 1): DecodeResult<Buffer> {
  if (codec === 'raw') {
    if (typeof value !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(value)) return fail('raw: expected a hex string');
    return ok(Buffer.from(value, 'hex'));
  }
  if (codec === 'utf8') {
    if (typeof value !== 'string') return fail('utf8: expected a string');
    return ok(Buffer.from(value, 'utf8'));
  }
  if (codec === 'json') return ok(Buffer.from(JSON.stringify(value), 'utf8'));
  if (!isNumeric(codec)) return fail(`unknown codec ${codec}`);
  if (typeof value !== 'number' || !Number.isFinite(value)) return fail(`${codec}: expected a number`);
  const raw = value / scale;
  const buf = Buffer.alloc(SIZES[codec]);
  if (codec.startsWith('float')) {
    if (codec === 'float32le') buf.writeFloatLE(raw);
    else if (codec === 'float32be') buf.writeFloatBE(raw);
    else buf.writeDoubleLE(raw);
    return ok(buf);
  }
  const int = Math.round(raw);
  const bits = SIZES[codec] * 8;
  const signed = codec.startsWith('int');
  const min = signed ? -(2 ** (bits - 1)) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  if (int < min || int > max) return fail(`${codec}: ${value} is out of range`);
  const be = codec.endsWith('be');
  if (signed) {
    if (be) buf.writeIntBE(int, 0, SIZES[codec]);
    else buf.writeIntLE(int, 0, SIZES[codec]);
  } else if (be) buf.writeUIntBE(int, 0, SIZES[codec]);
  else buf.writeUIntLE(int, 0, SIZES[codec]);
  return ok(buf);
}
