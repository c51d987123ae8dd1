// SenML CBOR (content format 112): RFC 8428 integer labels; LwM2M's "vlo" keeps its text label.
import type { Decoder, Encoder } from 'cbor-x';
import { cbor } from '../../../common/cbor.js';
import { type Decoded, fail } from '../result.js';
import type { Lwm2mRecord, TypeLookup } from '../values.js';
import { checkSenmlRecord, recordsToSenml, type SenmlRecord, senmlToRecords } from './senml-records.js';

const LABELS: Record<string, keyof SenmlRecord | 'bver'> = {
  '-1': 'bver',
  '-2': 'bn',
  '-3': 'bt',
  '0': 'n',
  '2': 'v',
  '3': 'vs',
  '4': 'vb',
  '6': 't',
  '8': 'vd',
  vlo: 'vlo',
};
const CODES: Record<string, number | string> = { bn: -2, bt: -3, n: 0, v: 2, vs: 3, vb: 4, t: 6, vd: 8, vlo: 'vlo' };

let codec: { decoder: Decoder; encoder: Encoder } | undefined;

/** Built at first use, with cbor-x (adapters/common/cbor.ts). */
function senmlCodec(): { decoder: Decoder; encoder: Encoder } {
  if (!codec) {
    const { Decoder, Encoder } = cbor();
    codec = {
      decoder: new Decoder({ mapsAsObjects: false, useRecords: false }),
      encoder: new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false }),
    };
  }
  return codec;
}

export function decodeSenmlCbor(bytes: Uint8Array, typeOf: TypeLookup): Decoded<Lwm2mRecord[]> {
  let parsed: unknown;
  try {
    parsed = senmlCodec().decoder.decode(Buffer.from(bytes));
  } catch (e) {
    return fail(`SenML CBOR: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed)) return fail('SenML CBOR must be an array');
  const pack: SenmlRecord[] = [];
  for (const [i, item] of parsed.entries()) {
    if (!(item instanceof Map)) return fail(`SenML record ${i} is not a map`);
    const named: Record<string, unknown> = {};
    for (const [k, v] of item) {
      // RFC 8428 labels are integers; of the text labels only LwM2M's "vlo" is known, and one ending in "_" must be
      // understood (§4.4), so the record cannot be used.
      if (typeof k === 'string' && k.endsWith('_'))
        return fail(`SenML record ${i}: unknown must-understand label "${k}"`);
      const label = typeof k === 'number' || k === 'vlo' ? LABELS[String(k)] : undefined;
      if (label) named[label] = v;
    }
    const rec = checkSenmlRecord(named, i);
    if (!rec.ok) return rec;
    pack.push(rec.value);
  }
  return senmlToRecords(pack, typeOf);
}

export function encodeSenmlCbor(records: readonly Lwm2mRecord[]): Buffer {
  const pack = recordsToSenml(records).map((r) => {
    const m = new Map<number | string, unknown>();
    for (const [k, v] of Object.entries(r)) {
      const code = CODES[k];
      if (code !== undefined && v !== undefined) m.set(code, v instanceof Uint8Array ? Buffer.from(v) : v);
    }
    return m;
  });
  return Buffer.from(senmlCodec().encoder.encode(pack));
}
