// A whole SMP message: header + CBOR map body. Transport-neutral (serial frames it, BLE/UDP send it raw).
import { type CborValue, decodeCbor, encodeCbor } from './cbor.js';
import { decodeSmpHeader, encodeSmpHeader, SMP_HEADER_SIZE, type SmpHeader } from './header.js';
import { type DecodeResult, fail, ok } from './result.js';

export interface SmpMessage {
  header: SmpHeader;
  body: { [key: string]: CborValue };
}

export type SmpMessageInit = Omit<SmpHeader, 'length' | 'flags'> & {
  flags?: number;
  body: { [key: string]: CborValue };
};

export function encodeSmpMessage(msg: SmpMessageInit): Uint8Array {
  const body = encodeCbor(msg.body);
  if (body.length > 0xffff) throw new RangeError(`SMP body of ${body.length} bytes exceeds 65535`);
  const header = encodeSmpHeader({ ...msg, flags: msg.flags ?? 0, length: body.length });
  const out = new Uint8Array(SMP_HEADER_SIZE + body.length);
  out.set(header, 0);
  out.set(body, SMP_HEADER_SIZE);
  return out;
}

export function decodeSmpMessage(packet: Uint8Array): DecodeResult<SmpMessage> {
  const header = decodeSmpHeader(packet);
  if (!header.ok) return header;
  const bodyBytes = packet.subarray(SMP_HEADER_SIZE);
  if (bodyBytes.length !== header.value.length) {
    return fail(`SMP header says ${header.value.length} body bytes, packet has ${bodyBytes.length}`);
  }
  if (bodyBytes.length === 0) return ok({ header: header.value, body: {} });
  const body = decodeCbor(bodyBytes);
  if (!body.ok) return fail(`SMP body: ${body.reason}`);
  const map = body.value;
  if (map === null || typeof map !== 'object' || Array.isArray(map) || map instanceof Uint8Array) {
    return fail('SMP body is not a CBOR map');
  }
  return ok({ header: header.value, body: map });
}
