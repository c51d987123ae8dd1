// The 8-byte SMP header (big-endian): res:3|ver:2|op:3, flags, payload length u16, group u16, seq u8, id u8.
import { type DecodeResult, fail, ok } from './result.js';

export const SMP_HEADER_SIZE = 8;

export const SmpOp = { read: 0, readResponse: 1, write: 2, writeResponse: 3 } as const;
export type SmpOpCode = 0 | 1 | 2 | 3;

/** 1 = SMP v1 (`{"rc": n}` errors), 2 = SMP v2 (`{"err": {"group", "rc"}}` errors). */
export type SmpVersion = 1 | 2;

export interface SmpHeader {
  op: SmpOpCode;
  version: SmpVersion;
  flags: number;
  length: number;
  group: number;
  seq: number;
  id: number;
}

export function encodeSmpHeader(h: SmpHeader): Uint8Array {
  const out = new Uint8Array(SMP_HEADER_SIZE);
  out[0] = ((h.version - 1) << 3) | h.op;
  out[1] = h.flags & 0xff;
  out[2] = (h.length >> 8) & 0xff;
  out[3] = h.length & 0xff;
  out[4] = (h.group >> 8) & 0xff;
  out[5] = h.group & 0xff;
  out[6] = h.seq & 0xff;
  out[7] = h.id & 0xff;
  return out;
}

export function decodeSmpHeader(bytes: Uint8Array): DecodeResult<SmpHeader> {
  if (bytes.length < SMP_HEADER_SIZE) return fail(`SMP header needs 8 bytes, got ${bytes.length}`);
  const b0 = bytes[0]!;
  const op = b0 & 0x07;
  const ver = (b0 >> 3) & 0x03;
  if (op > 3) return fail(`unknown SMP op ${op}`);
  if (ver > 1) return fail(`unsupported SMP version field ${ver}`);
  return ok({
    op: op as SmpOpCode,
    version: (ver + 1) as SmpVersion,
    flags: bytes[1]!,
    length: (bytes[2]! << 8) | bytes[3]!,
    group: (bytes[4]! << 8) | bytes[5]!,
    seq: bytes[6]!,
    id: bytes[7]!,
  });
}
