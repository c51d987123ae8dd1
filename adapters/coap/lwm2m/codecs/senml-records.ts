// SenML pack <-> LwM2M records, shared by the JSON (110) and CBOR (112) encodings.
import { SENML_VERSION } from '../../../common/senml.js';
import { formatPath, parsePath } from '../path.js';
import { type Decoded, fail, ok } from '../result.js';
import { isObjectLink, type Lwm2mRecord, type Lwm2mValue, type ResourceType, type TypeLookup } from '../values.js';

/** One SenML record with the labels LwM2M uses, already checked for type. */
export interface SenmlRecord {
  bn?: string;
  bt?: number;
  n?: string;
  t?: number;
  v?: number;
  vb?: boolean;
  vs?: string;
  vd?: Uint8Array;
  vlo?: string;
}

export interface SenmlDecodeOptions {
  /** LwM2M JSON (11543) carries opaque values as base64 text in "sv" instead of SenML's "vd". */
  opaqueAsBase64Text?: boolean;
}

/**
 * Resolves base names/times (RFC 8428 §4.6) into full LwM2M paths and checks each value against the resource type
 * the object model gives (resources it does not know keep the value as sent). Records without a value are skipped.
 */
export function senmlToRecords(
  pack: readonly SenmlRecord[],
  typeOf: TypeLookup,
  options: SenmlDecodeOptions = {},
): Decoded<Lwm2mRecord[]> {
  let bn = '';
  let bt: number | undefined;
  const out: Lwm2mRecord[] = [];
  for (const r of pack) {
    if (r.bn !== undefined) bn = r.bn;
    if (r.bt !== undefined) bt = r.bt;
    const value = recordValue(r);
    if (value === undefined) continue;
    const name = bn + (r.n ?? '');
    const path = parsePath(name);
    if (!path.ok) return path;
    const { obj, inst, res, ri } = path.value;
    if (inst === undefined || res === undefined) return fail(`SenML name "${name}" is not a resource path`);
    const type = typeOf(obj, res);
    const typed = typeValue(value, type, options);
    if (!typed.ok) return fail(`SenML record ${formatPath(path.value)} (${type}) ${typed.error}`);
    const record: Lwm2mRecord = {
      path: ri === undefined ? { obj, inst, res } : { obj, inst, res, ri },
      value: typed.value,
    };
    // A base time applies to every later record, with or without its own "t".
    if (r.t !== undefined || bt !== undefined) record.time = (bt ?? 0) + (r.t ?? 0);
    out.push(record);
  }
  return ok(out);
}

function recordValue(r: SenmlRecord): Lwm2mValue | undefined {
  if (r.v !== undefined) return r.v;
  if (r.vb !== undefined) return r.vb;
  if (r.vs !== undefined) return r.vs;
  if (r.vd !== undefined) return r.vd;
  if (r.vlo !== undefined) return { objlnk: r.vlo };
  return undefined;
}

const OBJECT_LINK = /^\d+:\d+$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** The value field each resource type takes: float/integer/unsigned/time "v", string "vs", boolean "vb" (or "v"
 * 0/1, which clients send too), opaque "vd", objlnk "vlo" as "obj:inst". */
function typeValue(v: Lwm2mValue, type: ResourceType | undefined, options: SenmlDecodeOptions): Decoded<Lwm2mValue> {
  const wrong = (want: string) => fail(`takes "${want}", not "${fieldOf(v)}"`);
  switch (type) {
    case 'float':
    case 'integer':
    case 'unsigned':
    case 'time':
      return typeof v === 'number' ? ok(v) : wrong('v');
    case 'boolean':
      if (typeof v === 'boolean') return ok(v);
      return v === 0 || v === 1 ? ok(v === 1) : wrong('vb');
    case 'string':
      return typeof v === 'string' ? ok(v) : wrong('vs');
    case 'opaque':
      if (v instanceof Uint8Array) return ok(v);
      if (!options.opaqueAsBase64Text) return wrong('vd');
      if (typeof v !== 'string') return wrong('sv');
      return BASE64.test(v) ? ok(Uint8Array.from(Buffer.from(v, 'base64'))) : fail('takes base64 text, not this "sv"');
    case 'objlnk':
      if (!isObjectLink(v)) return wrong('vlo');
      return OBJECT_LINK.test(v.objlnk) ? ok(v) : fail(`takes an "obj:inst" link, not "${v.objlnk.slice(0, 32)}"`);
    default:
      return ok(v);
  }
}

function fieldOf(v: Lwm2mValue): string {
  if (typeof v === 'number') return 'v';
  if (typeof v === 'boolean') return 'vb';
  if (typeof v === 'string') return 'vs';
  return v instanceof Uint8Array ? 'vd' : 'vlo';
}

/** Zephyr's layout: `bn` = "/obj/inst/" on the first record of each instance, `n` = "res" or "res/ri". */
export function recordsToSenml(records: readonly Lwm2mRecord[]): SenmlRecord[] {
  const out: SenmlRecord[] = [];
  let lastBase = '';
  for (const r of records) {
    const base = `${formatPath({ obj: r.path.obj, inst: r.path.inst })}/`;
    const rec: SenmlRecord = {};
    if (base !== lastBase) rec.bn = base;
    lastBase = base;
    rec.n = r.path.ri === undefined ? String(r.path.res) : `${r.path.res}/${r.path.ri}`;
    if (r.time !== undefined) rec.t = r.time;
    const v = r.value;
    if (typeof v === 'number') rec.v = v;
    else if (typeof v === 'boolean') rec.vb = v;
    else if (typeof v === 'string') rec.vs = v;
    else if (v instanceof Uint8Array) rec.vd = v;
    else if (isObjectLink(v)) rec.vlo = v.objlnk;
    out.push(rec);
  }
  return out;
}

/** Checks a decoded JSON/CBOR item and copies the LwM2M labels, rejecting wrongly typed ones. */
export function checkSenmlRecord(item: Record<string, unknown>, index: number): Decoded<SenmlRecord> {
  const r: SenmlRecord = {};
  const where = `SenML record ${index}`;
  const mustUnderstand = Object.keys(item).find((k) => k.endsWith('_'));
  if (mustUnderstand !== undefined) return fail(`${where}: unknown must-understand label "${mustUnderstand}"`);
  for (const key of ['bn', 'n', 'vs', 'vlo'] as const) {
    const v = item[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') return fail(`${where}: "${key}" must be a string`);
    r[key] = v;
  }
  for (const key of ['bt', 't', 'v'] as const) {
    const v = item[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) return fail(`${where}: "${key}" must be a finite number`);
    r[key] = v;
  }
  if (item.vb !== undefined) {
    if (typeof item.vb !== 'boolean') return fail(`${where}: "vb" must be a boolean`);
    r.vb = item.vb;
  }
  if (item.bver !== undefined) {
    if (typeof item.bver !== 'number' || !Number.isFinite(item.bver)) return fail(`${where}: "bver" must be a number`);
    // RFC 8428 §4.4: a pack of a later version must not be used.
    if (item.bver > SENML_VERSION) return fail(`${where}: SenML version ${item.bver} is not supported (bver > 10)`);
  }
  if (item.vd !== undefined) {
    if (!(item.vd instanceof Uint8Array)) return fail(`${where}: "vd" must be bytes`);
    r.vd = Uint8Array.from(item.vd);
  }
  return ok(r);
}
