// Typed TLV resource values: integers in the smallest of 1/2/4/8 bytes, floats 4 or 8 bytes, links obj<<16|inst.
import { type Decoded, fail, ok } from '../result.js';
import { isObjectLink, type Lwm2mValue, type ResourceType } from '../values.js';

export function decodeTlvValue(bytes: Uint8Array, type: ResourceType | undefined): Decoded<Lwm2mValue> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case 'string':
      return ok(buf.toString('utf8'));
    case 'integer':
    case 'unsigned':
    case 'time':
      return decodeInteger(buf, type === 'unsigned');
    case 'float':
      if (buf.length === 4) return ok(buf.readFloatBE(0));
      if (buf.length === 8) return ok(buf.readDoubleBE(0));
      return fail(`TLV float must be 4 or 8 bytes, got ${buf.length}`);
    case 'boolean':
      if (buf.length !== 1 || (buf[0] ?? 2) > 1) return fail('TLV boolean must be one byte 0 or 1');
      return ok(buf[0] === 1);
    case 'objlnk':
      if (buf.length !== 4) return fail(`TLV object link must be 4 bytes, got ${buf.length}`);
      return ok({ objlnk: `${buf.readUInt16BE(0)}:${buf.readUInt16BE(2)}` });
    default:
      return ok(Uint8Array.from(buf));
  }
}

function decodeInteger(buf: Buffer, unsigned: boolean): Decoded<number> {
  switch (buf.length) {
    case 1:
      return ok(unsigned ? buf.readUInt8(0) : buf.readInt8(0));
    case 2:
      return ok(unsigned ? buf.readUInt16BE(0) : buf.readInt16BE(0));
    case 4:
      return ok(unsigned ? buf.readUInt32BE(0) : buf.readInt32BE(0));
    case 8:
      return ok(Number(unsigned ? buf.readBigUInt64BE(0) : buf.readBigInt64BE(0)));
    default:
      return fail(`TLV integer must be 1, 2, 4 or 8 bytes, got ${buf.length}`);
  }
}

export function encodeTlvValue(value: Lwm2mValue, type: ResourceType | undefined): Decoded<Buffer> {
  if (value instanceof Uint8Array) return ok(Buffer.from(value));
  if (isObjectLink(value)) {
    const m = /^(\d+):(\d+)$/.exec(value.objlnk);
    if (!m || Number(m[1]) > 0xffff || Number(m[2]) > 0xffff) return fail(`invalid object link "${value.objlnk}"`);
    const b = Buffer.alloc(4);
    b.writeUInt16BE(Number(m[1]), 0);
    b.writeUInt16BE(Number(m[2]), 2);
    return ok(b);
  }
  if (typeof value === 'boolean') return ok(Buffer.from([value ? 1 : 0]));
  if (typeof value === 'string') return ok(Buffer.from(value, 'utf8'));
  const asFloat = type === 'float' || (type === undefined && !Number.isInteger(value));
  if (asFloat) {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(value, 0);
    return ok(b);
  }
  if (!Number.isSafeInteger(value)) return fail(`${value} is not an integer`);
  return ok(encodeInteger(value));
}

function encodeInteger(n: number): Buffer {
  if (n >= -0x80 && n <= 0x7f) return Buffer.from([n & 0xff]);
  if (n >= -0x8000 && n <= 0x7fff) {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n, 0);
    return b;
  }
  if (n >= -0x80000000 && n <= 0x7fffffff) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n, 0);
    return b;
  }
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n), 0);
  return b;
}
