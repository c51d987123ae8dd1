// Device payloads <-> state values, by CoAP Content-Format. Pure: bytes in, a state object or a typed error
// carrying the CoAP code to answer with (4.00 bad payload, 4.15 unsupported format).

import { cborDecode, cborEncode } from '../common/cbor.js';
import { decodeSenmlCbor, decodeSenmlJson, encodeSenmlCbor, encodeSenmlJson, senmlToState } from '../common/senml.js';
import { exactNumber } from '../common/text-number.js';

export const ContentFormat = {
  text: 0,
  linkFormat: 40,
  octetStream: 42,
  json: 50,
  cbor: 60,
  senmlJson: 110,
  senmlCbor: 112,
} as const;

export const contentFormatByName = {
  text: ContentFormat.text,
  json: ContentFormat.json,
  cbor: ContentFormat.cbor,
  'senml+json': ContentFormat.senmlJson,
  'senml+cbor': ContentFormat.senmlCbor,
  'octet-stream': ContentFormat.octetStream,
} as const;

export type PayloadResult =
  | { ok: true; values: Record<string, unknown> }
  | { ok: false; code: '4.00' | '4.15'; error: string };

const MAX_PROPERTIES = 256;
const MAX_DEPTH = 16;
const PROPERTY_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function isValidPropertyName(name: string): boolean {
  return PROPERTY_NAME.test(name);
}

const READABLE: ReadonlySet<number> = new Set([
  ContentFormat.text,
  ContentFormat.json,
  ContentFormat.cbor,
  ContentFormat.senmlJson,
  ContentFormat.senmlCbor,
  ContentFormat.octetStream,
]);

/** The 4.15 that decodeStatePayload() answers for a payload in this format, known before the payload arrives (the
 * two agree on every format: readable-formats.test.ts). */
export function unreadableContentFormat(contentFormat: number | undefined): string | undefined {
  return contentFormat === undefined || READABLE.has(contentFormat)
    ? undefined
    : `unsupported Content-Format ${contentFormat}`;
}

/**
 * Decode a /ps payload into state values. With `property` the whole payload is that property's value; without
 * it the payload must describe an object (JSON/CBOR map, SenML pack, `key=value` text pairs).
 * No Content-Format: JSON when it parses as JSON, else text.
 */
export function decodeStatePayload(contentFormat: number | undefined, bytes: Buffer, property?: string): PayloadResult {
  switch (contentFormat) {
    case undefined:
      return looksLikeJson(bytes) ? decodeJson(bytes, property) : decodeText(bytes, property);
    case ContentFormat.text:
      return decodeText(bytes, property);
    case ContentFormat.json:
      return decodeJson(bytes, property);
    case ContentFormat.cbor:
      return decodeCbor(bytes, property);
    case ContentFormat.senmlJson:
    case ContentFormat.senmlCbor: {
      const senml =
        contentFormat === ContentFormat.senmlJson
          ? decodeSenmlJson(withoutTrailingNuls(bytes))
          : decodeSenmlCbor(bytes);
      if (!senml.ok) return bad(senml.error);
      if (senml.records.length === 0) return bad('SenML pack has no records');
      const state = senmlToState(senml.records);
      if (property) {
        const only = senml.records.length === 1 ? Object.values(state)[0] : state;
        return { ok: true, values: { [property]: only } };
      }
      return checkObject(state);
    }
    case ContentFormat.octetStream:
      return { ok: true, values: { [property ?? 'data']: bytes.toString('hex') } };
    default:
      return { ok: false, code: '4.15', error: `unsupported Content-Format ${contentFormat}` };
  }
}

/** Encode a value written to a device resource (MQTT /set) in the configured format. */
export function encodeValue(
  format: keyof typeof contentFormatByName,
  value: unknown,
  name: string,
): { contentFormat: number; payload: Buffer } {
  const contentFormat = contentFormatByName[format];
  switch (format) {
    case 'text':
      return { contentFormat, payload: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)) };
    case 'json':
      return { contentFormat, payload: Buffer.from(JSON.stringify(value)) };
    case 'cbor':
      return { contentFormat, payload: cborEncode(value) };
    case 'senml+json':
    case 'senml+cbor': {
      const records = toSenmlRecords(value, name);
      return {
        contentFormat,
        payload: format === 'senml+json' ? Buffer.from(encodeSenmlJson(records)) : encodeSenmlCbor(records),
      };
    }
    case 'octet-stream': {
      if (typeof value !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(value)) {
        throw new Error(`"${name}" must be a hex string for an octet-stream resource`);
      }
      return { contentFormat, payload: Buffer.from(value, 'hex') };
    }
  }
}

/** Encode a command for a device observing /ps/<id>/set, honouring its Accept option (JSON by default). */
export function encodeCommand(
  accept: number | undefined,
  command: Record<string, unknown>,
): {
  contentFormat: number;
  payload: Buffer;
} {
  if (accept === ContentFormat.cbor) return { contentFormat: accept, payload: cborEncode(command) };
  if (accept === ContentFormat.senmlJson || accept === ContentFormat.senmlCbor) {
    const records = Object.entries(command).flatMap(([key, value]) => toSenmlRecords(value, key));
    const payload =
      accept === ContentFormat.senmlJson ? Buffer.from(encodeSenmlJson(records)) : encodeSenmlCbor(records);
    return { contentFormat: accept, payload };
  }
  return { contentFormat: ContentFormat.json, payload: Buffer.from(JSON.stringify(command)) };
}

export function isAcceptable(accept: number | undefined): boolean {
  return (
    accept === undefined ||
    accept === ContentFormat.json ||
    accept === ContentFormat.cbor ||
    accept === ContentFormat.senmlJson ||
    accept === ContentFormat.senmlCbor
  );
}

function toSenmlRecords(value: unknown, name: string) {
  const entries = isPlainObject(value) ? Object.entries(value) : [[name, value] as const];
  return entries.map(([key, v]) => {
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return { name: key, value: v };
    return { name: key, value: JSON.stringify(v) };
  });
}

function decodeText(bytes: Buffer, property: string | undefined): PayloadResult {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return bad('text payload is not valid UTF-8');
  }
  // Zephyr samples send C strings with their trailing NUL; it is not part of the value.
  text = text.replace(/\0+$/, '').trim();
  if (property) return { ok: true, values: { [property]: scalarFromText(text) } };
  const pairs = text.split(/[&;,\n]/).filter((p) => p.trim() !== '');
  const values: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq).trim() : '';
    if (!isValidPropertyName(key)) {
      return bad('text payload on /ps/<id> must be key=value pairs; send a plain value to /ps/<id>/<property>');
    }
    values[key] = scalarFromText(pair.slice(eq + 1).trim());
  }
  return checkObject(values);
}

function scalarFromText(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  return exactNumber(text) ?? text;
}

function decodeJson(bytes: Buffer, property: string | undefined): PayloadResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(withoutTrailingNuls(bytes)));
  } catch (error) {
    return bad(`JSON payload does not parse: ${(error as Error).message}`);
  }
  // JSON.parse takes nesting that JSON.stringify then cannot write back (stack overflow), so limit it as for CBOR.
  if (nestsDeeperThan(parsed, MAX_DEPTH)) return bad(`JSON payload nests deeper than ${MAX_DEPTH} levels`);
  if (property) return { ok: true, values: { [property]: parsed } };
  return checkObject(parsed);
}

function nestsDeeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit === 0) return true;
  for (const child of Array.isArray(value) ? value : Object.values(value))
    if (nestsDeeperThan(child, limit - 1)) return true;
  return false;
}

function decodeCbor(bytes: Buffer, property: string | undefined): PayloadResult {
  let parsed: unknown;
  try {
    parsed = cborDecode(bytes);
  } catch (error) {
    return bad(`CBOR payload does not decode: ${(error as Error).message}`);
  }
  const plain = toJsonSafe(parsed, 0);
  if (plain === INVALID) return bad('CBOR payload nests too deeply or uses unsupported types');
  if (property) return { ok: true, values: { [property]: plain } };
  return checkObject(plain);
}

const INVALID = Symbol('invalid');

/** CBOR values into JSON-safe ones: maps to objects, byte strings to hex, bigints to numbers/strings. */
function toJsonSafe(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) return INVALID;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value === undefined) return null;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) {
    const out = value.map((v) => toJsonSafe(v, depth + 1));
    return out.includes(INVALID) ? INVALID : out;
  }
  const entries = value instanceof Map ? [...value.entries()] : isPlainObject(value) ? Object.entries(value) : null;
  if (!entries) return INVALID;
  const out: Record<string, unknown> = {};
  for (const [key, v] of entries) {
    const safe = toJsonSafe(v, depth + 1);
    if (safe === INVALID) return INVALID;
    out[String(key)] = safe;
  }
  return out;
}

function checkObject(value: unknown): PayloadResult {
  if (!isPlainObject(value)) return bad('payload on /ps/<id> must be an object of properties');
  const keys = Object.keys(value);
  if (keys.length === 0) return bad('payload has no properties');
  if (keys.length > MAX_PROPERTIES) return bad(`payload has more than ${MAX_PROPERTIES} properties`);
  const wrong = keys.find((k) => !isValidPropertyName(k));
  if (wrong !== undefined) return bad(`invalid property name "${wrong.slice(0, 64)}"`);
  return { ok: true, values: value };
}

/** Zephyr code often sends a C string with `sizeof`, its NUL included; the NUL is not part of the JSON text. */
function withoutTrailingNuls(bytes: Buffer): Buffer {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return bytes.subarray(0, end);
}

function looksLikeJson(bytes: Buffer): boolean {
  const first = bytes.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  return first === 0x7b || first === 0x5b;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function bad(error: string): PayloadResult {
  return { ok: false, code: '4.00', error };
}
