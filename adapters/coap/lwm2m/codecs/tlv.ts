// OMA LwM2M TLV (content format 11542): the raw entry tree, without resource types.
import { type Decoded, fail, ok } from '../result.js';

export type TlvKind = 'instance' | 'resource_instance' | 'multiple' | 'resource';
const KINDS: readonly TlvKind[] = ['instance', 'resource_instance', 'multiple', 'resource'];
const MAX_DEPTH = 3;

export interface TlvEntry {
  kind: TlvKind;
  id: number;
  /** Raw value bytes (for `instance` and `multiple` these are the encoded children). */
  value: Uint8Array;
  /** Decoded nested entries of `instance` and `multiple`. */
  children?: TlvEntry[];
}

export function decodeTlv(bytes: Uint8Array): Decoded<TlvEntry[]> {
  return decodeLevel(bytes, 0);
}

function decodeLevel(bytes: Uint8Array, depth: number): Decoded<TlvEntry[]> {
  const entries: TlvEntry[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const type = bytes[pos] ?? 0;
    const kind = KINDS[type >> 6] ?? 'resource';
    const idLen = type & 0x20 ? 2 : 1;
    const lenType = (type >> 3) & 0x03;
    let cursor = pos + 1;
    if (cursor + idLen + lenType > bytes.length) return fail(`TLV header truncated at byte ${pos}`);
    let id = 0;
    for (let i = 0; i < idLen; i++) id = (id << 8) | (bytes[cursor + i] ?? 0);
    cursor += idLen;
    let length = type & 0x07;
    if (lenType > 0) {
      length = 0;
      for (let i = 0; i < lenType; i++) length = length * 256 + (bytes[cursor + i] ?? 0);
      cursor += lenType;
    }
    if (cursor + length > bytes.length) return fail(`TLV value of id ${id} truncated (needs ${length} bytes)`);
    const value = bytes.subarray(cursor, cursor + length);
    const entry: TlvEntry = { kind, id, value };
    if (kind === 'instance' || kind === 'multiple') {
      if (depth >= MAX_DEPTH) return fail('TLV nested too deeply');
      const children = decodeLevel(value, depth + 1);
      if (!children.ok) return children;
      const allowed: TlvKind[] = kind === 'instance' ? ['resource', 'multiple'] : ['resource_instance'];
      if (children.value.some((c) => !allowed.includes(c.kind))) return fail(`TLV ${kind} ${id} has invalid children`);
      entry.children = children.value;
    }
    entries.push(entry);
    pos = cursor + length;
  }
  return ok(entries);
}

export function encodeTlv(entries: readonly TlvEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const value = e.children ? encodeTlv(e.children) : Buffer.from(e.value);
    const idLen = e.id > 0xff ? 2 : 1;
    const lenType = value.length < 8 ? 0 : value.length <= 0xff ? 1 : value.length <= 0xffff ? 2 : 3;
    const header = Buffer.alloc(1 + idLen + lenType);
    header[0] = (KINDS.indexOf(e.kind) << 6) | (idLen === 2 ? 0x20 : 0) | (lenType << 3) | (lenType ? 0 : value.length);
    if (idLen === 2) header.writeUInt16BE(e.id, 1);
    else header[1] = e.id;
    if (lenType > 0) header.writeUIntBE(value.length, 1 + idLen, lenType);
    parts.push(header, value);
  }
  return Buffer.concat(parts);
}
