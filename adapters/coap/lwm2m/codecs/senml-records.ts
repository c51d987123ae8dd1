// SenML pack <-> LwM2M records, shared by the JSON (110) and CBOR (112) encodings.
import { formatPath, parsePath } from '../path.js';
import { type Decoded, fail, ok } from '../result.js';
import { isObjectLink, type Lwm2mRecord, type Lwm2mValue, type TypeLookup } from '../values.js';

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

/** Resolves base names/times (RFC 8428 §4.6) into full LwM2M paths. Records without a value are skipped. */
export function senmlToRecords(pack: readonly SenmlRecord[], typeOf: TypeLookup): Decoded<Lwm2mRecord[]> {
  let bn = '';
  let bt = 0;
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
    const typed = typeValue(value, typeOf(obj, res));
    const time = r.t !== undefined || r.bt !== undefined ? bt + (r.t ?? 0) : undefined;
    const record: Lwm2mRecord = { path: ri === undefined ? { obj, inst, res } : { obj, inst, res, ri }, value: typed };
    if (time !== undefined) record.time = time;
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

// SenML has one number kind; opaque resources sent as text stay text.
function typeValue(v: Lwm2mValue, type: ReturnType<TypeLookup>): Lwm2mValue {
  if (type === 'boolean' && typeof v === 'number') return v !== 0;
  return v;
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
  if (item.vd !== undefined) {
    if (!(item.vd instanceof Uint8Array)) return fail(`${where}: "vd" must be bytes`);
    r.vd = Uint8Array.from(item.vd);
  }
  return ok(r);
}
