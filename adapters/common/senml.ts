// SenML (RFC 8428) in its JSON (CF 110) and CBOR (CF 112) representations.
// Pure: bytes in, resolved records or a typed error out. Base fields (bn, bt, bu, bv, bs) carry over to later
// records until redefined (RFC 8428 §4.1), so each resolved record stands alone.
import type { Decoder } from 'cbor-x';
import { cbor, cborEncode } from './cbor.js';

export type SenmlValue = number | string | boolean | Uint8Array;

/** One record after base-value resolution (RFC 8428 §4.6). */
export interface SenmlRecord {
  name: string;
  unit?: string;
  value?: SenmlValue;
  sum?: number;
  /** Resolved time (bt + t). Values below 2**28 are relative to "now" per §4.5.3; left as given. */
  time?: number;
  updateTime?: number;
}

export type SenmlResult = { ok: true; records: SenmlRecord[] } | { ok: false; error: string };

// RFC 8428 §6 CBOR labels.
const CBOR_LABELS: Record<number, string> = {
  [-1]: 'bver',
  [-2]: 'bn',
  [-3]: 'bt',
  [-4]: 'bu',
  [-5]: 'bv',
  [-6]: 'bs',
  0: 'n',
  1: 'u',
  2: 'v',
  3: 'vs',
  4: 'vb',
  5: 's',
  6: 't',
  7: 'ut',
  8: 'vd',
};
const JSON_TO_CBOR_LABEL = new Map(Object.entries(CBOR_LABELS).map(([k, v]) => [v, Number(k)]));

/** The SenML version this code reads (RFC 8428 §4.4: a pack with a greater `bver` must not be used). */
export const SENML_VERSION = 10;

/** RFC 8428 §4.5.3: times below 2**28 are relative to now. */
const RELATIVE_TIME_LIMIT = 2 ** 28;

// RFC 8428 §4.5.1 plus a leading "/": LwM2M names records "/3303/0/5700".
const NAME_CHARS = /^[A-Za-z0-9/][A-Za-z0-9\-:./_]*$/;
const MAX_RECORDS = 10_000;

type RawRecord = Record<string, unknown>;

/** Decode SenML-JSON bytes (or an already-parsed JSON value). */
export function decodeSenmlJson(input: Uint8Array | string | unknown): SenmlResult {
  let parsed: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      parsed = JSON.parse(typeof input === 'string' ? input : Buffer.from(input).toString('utf8'));
    } catch (error) {
      return { ok: false, error: `SenML-JSON is not valid JSON: ${(error as Error).message}` };
    }
  }
  return resolveRecords(parsed, 'json');
}

/** Decode SenML-CBOR bytes (integer labels). */
export function decodeSenmlCbor(input: Uint8Array): SenmlResult {
  let parsed: unknown;
  try {
    parsed = mapDecoder().decode(input);
  } catch (error) {
    return { ok: false, error: `SenML-CBOR is not valid CBOR: ${(error as Error).message}` };
  }
  if (!Array.isArray(parsed)) return { ok: false, error: 'SenML pack must be an array' };
  const records: RawRecord[] = [];
  for (const [index, item] of parsed.entries()) {
    if (!(item instanceof Map)) return { ok: false, error: 'SenML record must be a map' };
    const record = cborRecord([...item.entries()], index);
    if (typeof record === 'string') return { ok: false, error: record };
    records.push(record);
  }
  return resolveRecords(records, 'cbor');
}

let decoder: Decoder | undefined;

/** A CBOR decoder that gives maps as Map: cbor-x's default makes objects of them, where the label 2 and the text
 * key "2" become the same key. */
function mapDecoder(): Decoder {
  decoder ??= new (cbor().Decoder)({ mapsAsObjects: false, useRecords: false });
  return decoder;
}

/**
 * One CBOR record with its labels named as in JSON. Integer keys are the RFC 8428 §6 labels (others are extensions,
 * ignored); text keys are extension labels: ignored, unless they end in "_" (must be understood, §4.4) or are a
 * JSON label name, which means the pack was written with text labels that SenML-CBOR does not use.
 */
function cborRecord(entries: Array<[unknown, unknown]>, index: number): RawRecord | string {
  const record: RawRecord = {};
  for (const [key, value] of entries) {
    if (typeof key === 'number') {
      const label = CBOR_LABELS[key];
      if (label !== undefined) record[label] = value;
      continue;
    }
    if (typeof key !== 'string') continue;
    if (key.endsWith('_')) return `record ${index} has must-understand field "${key}"`;
    const label = JSON_TO_CBOR_LABEL.get(key);
    if (label !== undefined) {
      return `record ${index} has the text label "${key}": SenML-CBOR uses integer labels (${label} for "${key}")`;
    }
  }
  return record;
}

function resolveRecords(pack: unknown, flavour: 'json' | 'cbor'): SenmlResult {
  if (!Array.isArray(pack)) return { ok: false, error: 'SenML pack must be an array' };
  if (pack.length > MAX_RECORDS) return { ok: false, error: `SenML pack has more than ${MAX_RECORDS} records` };
  let bn = '';
  let bt = 0;
  let bu: string | undefined;
  let bv = 0;
  let bs = 0;
  const out: SenmlRecord[] = [];
  for (const [index, raw] of pack.entries()) {
    if (!isPlainObject(raw)) return { ok: false, error: `record ${index} is not an object` };
    const r = raw as RawRecord;
    for (const key of Object.keys(r)) {
      if (key.endsWith('_')) return { ok: false, error: `record ${index} has must-understand field "${key}"` };
    }
    if (r.bver !== undefined && !isFiniteNumber(r.bver)) return bad(index, 'bver');
    if (r.bver !== undefined && r.bver > SENML_VERSION) {
      return { ok: false, error: `record ${index} has SenML version ${r.bver}, newer than ${SENML_VERSION}` };
    }
    if (r.bn !== undefined) {
      if (typeof r.bn !== 'string') return bad(index, 'bn');
      bn = r.bn;
    }
    if (r.bt !== undefined) {
      if (!isFiniteNumber(r.bt)) return bad(index, 'bt');
      bt = r.bt;
    }
    if (r.bu !== undefined) {
      if (typeof r.bu !== 'string') return bad(index, 'bu');
      bu = r.bu;
    }
    if (r.bv !== undefined) {
      if (!isFiniteNumber(r.bv)) return bad(index, 'bv');
      bv = r.bv;
    }
    if (r.bs !== undefined) {
      if (!isFiniteNumber(r.bs)) return bad(index, 'bs');
      bs = r.bs;
    }
    if (r.n !== undefined && typeof r.n !== 'string') return bad(index, 'n');
    const name = bn + ((r.n as string | undefined) ?? '');
    const valueKeys = ['v', 'vs', 'vb', 'vd'].filter((k) => r[k] !== undefined);
    const hasSum = r.s !== undefined;
    // Records with only base fields are allowed when they carry no value at all (base-only header record).
    if (valueKeys.length === 0 && !hasSum) {
      if (r.n === undefined) continue;
      return { ok: false, error: `record ${index} ("${name}") has no value` };
    }
    if (valueKeys.length > 1) return { ok: false, error: `record ${index} has more than one value field` };
    if (!NAME_CHARS.test(name)) return { ok: false, error: `record ${index} has an invalid name "${name}"` };
    const record: SenmlRecord = { name };
    const unit = r.u !== undefined ? r.u : bu;
    if (unit !== undefined) {
      if (typeof unit !== 'string') return bad(index, 'u');
      record.unit = unit;
    }
    if (r.v !== undefined) {
      if (!isFiniteNumber(r.v)) return bad(index, 'v');
      record.value = bv + r.v;
    } else if (r.vs !== undefined) {
      if (typeof r.vs !== 'string') return bad(index, 'vs');
      record.value = r.vs;
    } else if (r.vb !== undefined) {
      if (typeof r.vb !== 'boolean') return bad(index, 'vb');
      record.value = r.vb;
    } else if (r.vd !== undefined) {
      const data = decodeData(r.vd, flavour);
      if (!data) return bad(index, 'vd');
      record.value = data;
    }
    if (hasSum) {
      if (!isFiniteNumber(r.s)) return bad(index, 's');
      record.sum = bs + r.s;
    }
    if (r.t !== undefined && !isFiniteNumber(r.t)) return bad(index, 't');
    const time = bt + ((r.t as number | undefined) ?? 0);
    if (time !== 0) record.time = time;
    if (r.ut !== undefined) {
      if (!isFiniteNumber(r.ut)) return bad(index, 'ut');
      record.updateTime = r.ut;
    }
    out.push(record);
  }
  return { ok: true, records: out };
}

function decodeData(vd: unknown, flavour: 'json' | 'cbor'): Uint8Array | undefined {
  if (flavour === 'cbor') return vd instanceof Uint8Array ? vd : undefined;
  // JSON carries vd as base64url without padding (RFC 8428 §5); accept padded standard base64 too.
  if (typeof vd !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(vd)) return undefined;
  return new Uint8Array(Buffer.from(vd.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

/** Encode resolved records as SenML-JSON (no base compression; vd as base64url). */
export function encodeSenmlJson(records: readonly SenmlRecord[]): string {
  return JSON.stringify(records.map(toRawRecord).map((r) => (r.vd ? { ...r, vd: toBase64Url(r.vd) } : r)));
}

/** Encode resolved records as SenML-CBOR with integer labels. */
export function encodeSenmlCbor(records: readonly SenmlRecord[]): Buffer {
  const pack = records.map((record) => {
    const map = new Map<number, unknown>();
    for (const [key, value] of Object.entries(toRawRecord(record))) {
      const label = JSON_TO_CBOR_LABEL.get(key);
      if (label !== undefined) map.set(label, value);
    }
    return map;
  });
  return cborEncode(pack);
}

/**
 * Flatten records into a state object: `{"<name>": value}`. A common base name prefix shared by every record
 * (e.g. "urn:dev:mac:0024befffe804ff1/" or "/3303/0/") is stripped so properties read naturally; a "/" left in
 * the name becomes "_" (`room1/temp` -> `room1_temp`). Of several records of one name the newest is kept (equal
 * times: the later record). `nowSeconds` places relative times.
 */
export function senmlToState(records: readonly SenmlRecord[], nowSeconds = Date.now() / 1000): Record<string, unknown> {
  const prefix = commonBaseName(records.map((r) => r.name));
  const state: Record<string, unknown> = {};
  const times = new Map<string, number>();
  for (const record of records) {
    const key = (record.name.slice(prefix.length) || record.name).replaceAll('/', '_');
    const time = absoluteTime(record.time, nowSeconds);
    if (time < (times.get(key) ?? Number.NEGATIVE_INFINITY)) continue;
    times.set(key, time);
    const value = record.value ?? record.sum;
    state[key] = value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value;
  }
  return state;
}

/** A resolved SenML time (absent: now) as seconds since the epoch, so that relative and absolute times compare. */
export function absoluteTime(time: number | undefined, nowSeconds: number): number {
  const t = time ?? 0;
  return t < RELATIVE_TIME_LIMIT ? nowSeconds + t : t;
}

function commonBaseName(names: string[]): string {
  if (names.length < 2) {
    const only = names[0] ?? '';
    const cut = Math.max(only.lastIndexOf('/'), only.lastIndexOf(':'));
    return cut >= 0 && cut < only.length - 1 ? only.slice(0, cut + 1) : '';
  }
  let prefix = names[0] ?? '';
  for (const name of names) {
    while (!name.startsWith(prefix)) prefix = prefix.slice(0, -1);
  }
  const cut = Math.max(prefix.lastIndexOf('/'), prefix.lastIndexOf(':'));
  return cut >= 0 ? prefix.slice(0, cut + 1) : '';
}

function toRawRecord(record: SenmlRecord): Record<string, unknown> & { vd?: Uint8Array } {
  const raw: Record<string, unknown> = { n: record.name };
  if (record.unit !== undefined) raw.u = record.unit;
  const value = record.value;
  if (typeof value === 'number') raw.v = value;
  else if (typeof value === 'string') raw.vs = value;
  else if (typeof value === 'boolean') raw.vb = value;
  else if (value instanceof Uint8Array) raw.vd = value;
  if (record.sum !== undefined) raw.s = record.sum;
  if (record.time !== undefined) raw.t = record.time;
  if (record.updateTime !== undefined) raw.ut = record.updateTime;
  return raw;
}

/** Base64url without padding: SenML-JSON's "vd" (RFC 8428 §5). */
export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function bad(index: number, field: string): SenmlResult {
  return { ok: false, error: `record ${index} has an invalid "${field}"` };
}
