// OMA LwM2M JSON (content format 11543, LwM2M 1.0): {"bn":"/3303/0/","e":[{"n":"5700","v":25.5}]}.
import { formatPath, type Lwm2mPath } from '../path.js';
import { type Decoded, fail } from '../result.js';
import { isObjectLink, type Lwm2mRecord, type TypeLookup } from '../values.js';
import { type SenmlRecord, senmlToRecords } from './senml-records.js';

export function decodeLwm2mJson(bytes: Uint8Array, typeOf: TypeLookup): Decoded<Lwm2mRecord[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    return fail(`LwM2M JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return fail('LwM2M JSON must be an object');
  const { bn, bt, e } = parsed as Record<string, unknown>;
  if (bn !== undefined && typeof bn !== 'string') return fail('LwM2M JSON "bn" must be a string');
  if (bt !== undefined && (typeof bt !== 'number' || !Number.isFinite(bt)))
    return fail('LwM2M JSON "bt" must be a number');
  if (!Array.isArray(e)) return fail('LwM2M JSON "e" must be an array');
  const pack: SenmlRecord[] = [bt === undefined ? { bn: bn ?? '' } : { bn: bn ?? '', bt }];
  for (const [i, item] of e.entries()) {
    if (typeof item !== 'object' || item === null) return fail(`LwM2M JSON entry ${i} is not an object`);
    const { n, v, bv, sv, ov, t } = item as Record<string, unknown>;
    if (n !== undefined && typeof n !== 'string') return fail(`LwM2M JSON entry ${i}: "n" must be a string`);
    if (t !== undefined && (typeof t !== 'number' || !Number.isFinite(t)))
      return fail(`LwM2M JSON entry ${i}: bad "t"`);
    const rec: SenmlRecord = { n: n ?? '' };
    if (t !== undefined) rec.t = t;
    if (typeof v === 'number' && Number.isFinite(v)) rec.v = v;
    else if (typeof bv === 'boolean') rec.vb = bv;
    else if (typeof sv === 'string') rec.vs = sv;
    else if (typeof ov === 'string') rec.vlo = ov;
    else return fail(`LwM2M JSON entry ${i} has no valid value`);
    pack.push(rec);
  }
  return senmlToRecords(pack, typeOf, { opaqueAsBase64Text: true });
}

export function encodeLwm2mJson(records: readonly Lwm2mRecord[], base: Lwm2mPath): Buffer {
  const bn = `${formatPath({ obj: base.obj, inst: base.inst })}/`;
  const strip = base.inst !== undefined;
  const e = records.map((r) => {
    const rel = r.path.ri === undefined ? `${r.path.res}` : `${r.path.res}/${r.path.ri}`;
    const entry: Record<string, unknown> = { n: strip ? rel : `${r.path.inst}/${rel}` };
    const v = r.value;
    if (typeof v === 'number') entry.v = v;
    else if (typeof v === 'boolean') entry.bv = v;
    else if (typeof v === 'string') entry.sv = v;
    else if (v instanceof Uint8Array) entry.sv = Buffer.from(v).toString('base64');
    else if (isObjectLink(v)) entry.ov = v.objlnk;
    return entry;
  });
  return Buffer.from(JSON.stringify({ bn, e }), 'utf8');
}
