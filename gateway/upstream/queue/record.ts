// One queued message on disk. Pure encode/decode, no I/O.
//   u32 body length | u32 crc32(body) | body
//   body: u8 flags (bits 0-1 qos, bit 2 retain) | u48 enqueue time (ms) | u16 topic length | topic | payload
// 17 bytes of overhead per message keeps the queue close to the payload size on disk.
import { crc32 } from 'node:zlib';

export const RECORD_HEADER_BYTES = 8;
const BODY_FIXED_BYTES = 9;
/** The smallest record: an empty topic and payload. */
export const MIN_RECORD_BYTES = RECORD_HEADER_BYTES + BODY_FIXED_BYTES;
/** Upper bound on one record, well above the broker's max packet size; larger lengths mean corruption. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export interface QueueMessage {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** Enqueue time, ms since the epoch. */
  ts: number;
}

export type RecordDecodeResult =
  | { ok: true; message: QueueMessage; bytes: number }
  | { ok: false; reason: 'truncated'; needed: number }
  | { ok: false; reason: 'corrupt'; detail: string };

export function encodeRecord(topic: string, payload: Buffer, qos: 0 | 1 | 2, retain: boolean, ts: number): Buffer {
  const topicLen = Buffer.byteLength(topic, 'utf8');
  if (topicLen > 0xffff) throw new RangeError(`topic longer than 65535 bytes (${topicLen})`);
  const bodyLen = BODY_FIXED_BYTES + topicLen + payload.length;
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + bodyLen);
  buf.writeUInt32LE(bodyLen, 0);
  let o = RECORD_HEADER_BYTES;
  buf[o] = (qos & 0x03) | (retain ? 0x04 : 0);
  buf.writeUIntLE(Math.max(0, Math.min(ts, 2 ** 48 - 1)), o + 1, 6);
  buf.writeUInt16LE(topicLen, o + 7);
  o += BODY_FIXED_BYTES;
  buf.write(topic, o, topicLen, 'utf8');
  buf.set(payload, o + topicLen);
  buf.writeUInt32LE(crc32(buf.subarray(RECORD_HEADER_BYTES)), 4);
  return buf;
}

/** Decodes the record starting at `offset`. Never throws: short input is `truncated`, anything else `corrupt`. */
export function decodeRecord(buf: Buffer, offset = 0): RecordDecodeResult {
  const avail = buf.length - offset;
  if (avail < RECORD_HEADER_BYTES) return { ok: false, reason: 'truncated', needed: RECORD_HEADER_BYTES };
  const bodyLen = buf.readUInt32LE(offset);
  if (bodyLen < BODY_FIXED_BYTES || bodyLen > MAX_RECORD_BYTES) {
    return { ok: false, reason: 'corrupt', detail: `implausible record length ${bodyLen}` };
  }
  const total = RECORD_HEADER_BYTES + bodyLen;
  if (avail < total) return { ok: false, reason: 'truncated', needed: total };
  const body = buf.subarray(offset + RECORD_HEADER_BYTES, offset + total);
  if (crc32(body) !== buf.readUInt32LE(offset + 4))
    return { ok: false, reason: 'corrupt', detail: 'checksum mismatch' };
  const flags = body.readUInt8(0);
  const qos = flags & 0x03;
  if (qos === 3 || flags > 0x07) return { ok: false, reason: 'corrupt', detail: `bad flags 0x${flags.toString(16)}` };
  const topicLen = body.readUInt16LE(7);
  if (BODY_FIXED_BYTES + topicLen > bodyLen) return { ok: false, reason: 'corrupt', detail: 'topic overruns record' };
  const topic = body.toString('utf8', BODY_FIXED_BYTES, BODY_FIXED_BYTES + topicLen);
  return {
    ok: true,
    bytes: total,
    message: {
      topic,
      // A copy: callers keep messages while the read buffer is reused.
      payload: Buffer.from(body.subarray(BODY_FIXED_BYTES + topicLen)),
      qos: qos as 0 | 1 | 2,
      retain: (flags & 0x04) !== 0,
      ts: body.readUIntLE(1, 6),
    },
  };
}

/** Reads only the enqueue time of a record header+body prefix (for the oldest-age gauge). */
export function peekRecordTime(buf: Buffer): number | undefined {
  if (buf.length < RECORD_HEADER_BYTES + 7) return undefined;
  return buf.readUIntLE(RECORD_HEADER_BYTES + 1, 6);
}

/** Where the parts of one record sit in a buffer (decodeRecordView): no copies, valid while the buffer is. */
export interface RecordView {
  buf: Buffer;
  /** Byte range of the UTF-8 topic. */
  topicStart: number;
  topicEnd: number;
  /** Byte range of the payload (ends the record). */
  payloadEnd: number;
  qos: 0 | 1 | 2;
  retain: boolean;
  ts: number;
  /** Whole record length, header included. */
  bytes: number;
}

export const VIEW_OK = 0;
export const VIEW_TRUNCATED = 1;
export const VIEW_CORRUPT = 2;

/** decodeRecord without allocating: fills `view` and returns VIEW_OK, or VIEW_TRUNCATED / VIEW_CORRUPT
 * (then `view.bytes` is the length needed when truncated). The same checks as decodeRecord. */
export function decodeRecordView(buf: Buffer, offset: number, end: number, view: RecordView): number {
  const avail = end - offset;
  if (avail < RECORD_HEADER_BYTES) {
    view.bytes = RECORD_HEADER_BYTES;
    return VIEW_TRUNCATED;
  }
  const bodyLen = buf.readUInt32LE(offset);
  if (bodyLen < BODY_FIXED_BYTES || bodyLen > MAX_RECORD_BYTES) return VIEW_CORRUPT;
  const total = RECORD_HEADER_BYTES + bodyLen;
  if (avail < total) {
    view.bytes = total;
    return VIEW_TRUNCATED;
  }
  const b = offset + RECORD_HEADER_BYTES;
  if (crc32(buf.subarray(b, offset + total)) !== buf.readUInt32LE(offset + 4)) return VIEW_CORRUPT;
  const flags = buf[b]!;
  const qos = flags & 0x03;
  if (qos === 3 || flags > 0x07) return VIEW_CORRUPT;
  const topicLen = buf.readUInt16LE(b + 7);
  if (BODY_FIXED_BYTES + topicLen > bodyLen) return VIEW_CORRUPT;
  view.buf = buf;
  view.topicStart = b + BODY_FIXED_BYTES;
  view.topicEnd = view.topicStart + topicLen;
  view.payloadEnd = offset + total;
  view.qos = qos as 0 | 1 | 2;
  view.retain = (flags & 0x04) !== 0;
  view.ts = buf.readUIntLE(b + 1, 6);
  view.bytes = total;
  return VIEW_OK;
}

/**
 * For resynchronising after damage: the first offset in [from, to) where a whole record that passes every check
 * of decodeRecord lies within buf[0, end), or -1. Cheap header checks first, the checksum only for the rare
 * offset whose header is plausible.
 */
export function findRecord(buf: Buffer, from: number, to: number, end: number): number {
  const last = Math.min(to, end - RECORD_HEADER_BYTES - BODY_FIXED_BYTES + 1);
  for (let o = from; o < last; o++) {
    const bodyLen = buf.readUInt32LE(o);
    if (bodyLen < BODY_FIXED_BYTES || bodyLen > MAX_RECORD_BYTES || bodyLen > end - o - RECORD_HEADER_BYTES) continue;
    const b = o + RECORD_HEADER_BYTES;
    const flags = buf[b]!;
    if (flags > 0x07 || (flags & 0x03) === 3 || BODY_FIXED_BYTES + buf.readUInt16LE(b + 7) > bodyLen) continue;
    if (crc32(buf.subarray(b, b + bodyLen)) === buf.readUInt32LE(o + 4)) return o;
  }
  return -1;
}
