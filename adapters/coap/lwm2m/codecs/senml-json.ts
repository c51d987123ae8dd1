// SenML JSON (content format 110).
import { toBase64Url } from '../../../common/senml.js';
import { type Decoded, fail } from '../result.js';
import type { Lwm2mRecord, TypeLookup } from '../values.js';
import { checkSenmlRecord, recordsToSenml, type SenmlRecord, senmlToRecords } from './senml-records.js';

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export function decodeSenmlJson(bytes: Uint8Array, typeOf: TypeLookup): Decoded<Lwm2mRecord[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    return fail(`SenML JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed)) return fail('SenML JSON must be an array');
  const pack: SenmlRecord[] = [];
  for (const [i, item] of parsed.entries()) {
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      return fail(`SenML record ${i} is not an object`);
    const { vd, ...rest } = item as Record<string, unknown>;
    if (vd !== undefined && (typeof vd !== 'string' || !BASE64.test(vd))) return fail(`SenML record ${i}: bad "vd"`);
    const bytesVd = typeof vd === 'string' ? Uint8Array.from(Buffer.from(vd, 'base64')) : undefined;
    const rec = checkSenmlRecord(bytesVd ? { ...rest, vd: bytesVd } : rest, i);
    if (!rec.ok) return rec;
    pack.push(rec.value);
  }
  return senmlToRecords(pack, typeOf);
}

/** "vd" as base64url without padding (RFC 8428 §5); the decoder takes that and standard base64. */
export function encodeSenmlJson(records: readonly Lwm2mRecord[]): Buffer {
  const pack = recordsToSenml(records).map(({ vd, ...rest }) => (vd ? { ...rest, vd: toBase64Url(vd) } : rest));
  return Buffer.from(JSON.stringify(pack), 'utf8');
}
