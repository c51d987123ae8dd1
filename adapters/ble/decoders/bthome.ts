// BTHome v2 service data (UUID 0xFCD2) as noble delivers it: data[0] is the device-info byte.
import { createDecipheriv } from 'node:crypto';
import {
  BTHOME_OBJECTS,
  BUTTON_EVENTS,
  DIMMER_EVENTS,
  FIXED_SIZES,
  NO_EVENT,
  type ObjectDef,
} from './bthome-objects.js';
import { type DecodeResult, fail, hex, ok, scaled } from './result.js';

export const BTHOME_UUID = 'fcd2';

export interface BthomeFrame {
  encrypted: boolean;
  triggerBased: boolean;
  /** Property values; a repeated property gets a suffix: temperature, temperature_2. */
  values: Record<string, number | boolean | string>;
  packetId?: number;
  /** Encryption counter (replay protection), when encrypted. */
  counter?: number;
  /** Why parsing stopped before the end (unknown id, truncated object); the values before it are kept. */
  stoppedEarly?: string;
  /** Objects left out of `values` that are worth a decode error (an event code BTHome does not define). */
  ignored?: string[];
}

export interface BthomeKeys {
  /** 16-byte AES key for encrypted frames. */
  bindKey?: Uint8Array;
  /** 6-byte MAC in transmission order (AA:BB:... -> AA BB ...). Needed to decrypt. */
  mac?: Uint8Array;
}

const MIN_ENCRYPTED_LEN = 1 + 4 + 4;

export function decodeBthome(data: Uint8Array, keys: BthomeKeys = {}): DecodeResult<BthomeFrame> {
  if (data.length < 1) return fail('bthome: empty service data');
  const info = data[0]!;
  const version = info >> 5;
  if (version !== 2) return fail(`bthome: version ${version} is not supported (only v2)`);
  const encrypted = (info & 0x01) !== 0;
  const triggerBased = (info & 0x04) !== 0;
  let payload = data.subarray(1);
  let counter: number | undefined;
  if (encrypted) {
    if (data.length < MIN_ENCRYPTED_LEN) return fail('bthome: encrypted frame too short');
    if (!keys.bindKey) return fail('bthome: encrypted frame and no bind_key configured');
    if (keys.mac?.length !== 6) return fail('bthome: encrypted frame and no MAC to build the nonce');
    const clear = decryptBthome(data, keys.bindKey, keys.mac);
    if (!clear.ok) return clear;
    payload = clear.value.plaintext;
    counter = clear.value.counter;
  }
  const parsed = parseObjects(payload);
  const frame: BthomeFrame = { encrypted, triggerBased, values: parsed.values };
  if (parsed.packetId !== undefined) frame.packetId = parsed.packetId;
  if (counter !== undefined) frame.counter = counter;
  if (parsed.stoppedEarly) frame.stoppedEarly = parsed.stoppedEarly;
  if (parsed.ignored.length > 0) frame.ignored = parsed.ignored;
  return ok(frame);
}

/** AES-128-CCM, 4-byte MIC, nonce = MAC(6) + UUID D2 FC + device info + counter(4). Frame: info | ct | ctr | mic. */
export function decryptBthome(
  data: Uint8Array,
  bindKey: Uint8Array,
  mac: Uint8Array,
): DecodeResult<{ plaintext: Uint8Array; counter: number }> {
  if (bindKey.length !== 16) return fail('bthome: bind_key must be 16 bytes');
  const info = data[0]!;
  const ciphertext = data.subarray(1, data.length - 8);
  const counterBytes = data.subarray(data.length - 8, data.length - 4);
  const mic = data.subarray(data.length - 4);
  const nonce = Buffer.concat([mac, Buffer.from([0xd2, 0xfc, info]), counterBytes]);
  try {
    const decipher = createDecipheriv('aes-128-ccm', bindKey, nonce, { authTagLength: 4 });
    decipher.setAuthTag(mic);
    decipher.setAAD(Buffer.alloc(0), { plaintextLength: ciphertext.length });
    const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    const counter = Buffer.from(counterBytes).readUInt32LE(0);
    return ok({ plaintext, counter });
  } catch {
    return fail(`bthome: decryption failed (wrong bind_key or MAC, or tampered frame; mic ${hex(mic)})`);
  }
}

interface Parsed {
  values: Record<string, number | boolean | string>;
  packetId?: number;
  stoppedEarly?: string;
  ignored: string[];
}

function parseObjects(payload: Uint8Array): Parsed {
  const values: Record<string, number | boolean | string> = {};
  /** Names given so far, published or not: the third button stays button_3 when the second reported nothing. */
  const named = new Set<string>();
  const out: Parsed = { values, ignored: [] };
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  let offset = 0;
  while (offset < buf.length) {
    const id = buf[offset]!;
    const def = BTHOME_OBJECTS.get(id);
    if (!def) {
      out.stoppedEarly = `unknown object id ${hexId(id)} at offset ${offset}`;
      return out;
    }
    offset += 1;
    const size = def.type === 'text' || def.type === 'raw' ? 1 + (buf[offset] ?? 0) : FIXED_SIZES[def.type];
    if (offset + size > buf.length) {
      out.stoppedEarly = `object ${hexId(id)} (${def.name}) truncated`;
      return out;
    }
    const at = offset;
    offset += size;
    if (id === 0x00) {
      out.packetId = buf[at]!;
      continue;
    }
    let key = def.name;
    for (let n = 2; named.has(key); n++) key = `${def.name}_${n}`;
    named.add(key);
    if (def.event) {
      const event = readEvent(buf, at, def.event);
      if (event.label !== undefined) values[key] = event.label;
      else if (event.unknownCode !== undefined)
        out.ignored.push(`${def.event} event code ${hexId(event.unknownCode)} is not defined`);
      continue;
    }
    values[key] = readValue(buf, at, def);
  }
  return out;
}

function hexId(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

/**
 * An event's label; none for code 0 ("nothing happened": multi-button devices send it for every button not
 * pressed) and for a code BTHome does not define (Home Assistant refuses event types outside its list).
 */
function readEvent(buf: Buffer, offset: number, kind: 'button' | 'dimmer'): { label?: string; unknownCode?: number } {
  const code = buf[offset]!;
  if (code === NO_EVENT) return {};
  const label = kind === 'button' ? BUTTON_EVENTS[code] : DIMMER_EVENTS[code];
  if (label === undefined) return { unknownCode: code };
  return { label: kind === 'dimmer' ? `${label}_${buf[offset + 1]}` : label };
}

function readValue(buf: Buffer, offset: number, def: ObjectDef): number | boolean | string {
  switch (def.type) {
    case 'text':
      return buf.subarray(offset + 1, offset + 1 + buf[offset]!).toString('utf8');
    case 'raw':
      return buf.subarray(offset + 1, offset + 1 + buf[offset]!).toString('hex');
    case 'bytes2':
      return buf.readUInt16LE(offset);
    default: {
      if (def.version) return versionText(buf.subarray(offset, offset + FIXED_SIZES[def.type]));
      const raw = readInt(buf, offset, def.type);
      if (def.binary) return raw !== 0;
      return scaled(raw, def.factor ?? 1);
    }
  }
}

/** Little-endian version bytes, most significant first: 00 01 02 04 -> "4.2.1.0". */
function versionText(bytes: Buffer): string {
  return [...bytes].reverse().join('.');
}

function readInt(
  buf: Buffer,
  offset: number,
  type: 'u8' | 's8' | 'u16' | 's16' | 'u24' | 's24' | 'u32' | 's32',
): number {
  switch (type) {
    case 'u8':
      return buf.readUInt8(offset);
    case 's8':
      return buf.readInt8(offset);
    case 'u16':
      return buf.readUInt16LE(offset);
    case 's16':
      return buf.readInt16LE(offset);
    case 'u24':
      return buf.readUIntLE(offset, 3);
    case 's24':
      return buf.readIntLE(offset, 3);
    case 'u32':
      return buf.readUInt32LE(offset);
    case 's32':
      return buf.readInt32LE(offset);
  }
}
