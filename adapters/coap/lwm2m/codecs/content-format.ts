// Dispatch on the CoAP Content-Format: payload bytes <-> records for every format an LwM2M client may use.
import type { Lwm2mPath } from '../path.js';
import { type Decoded, fail, ok } from '../result.js';
import type { Lwm2mRecord, TypeLookup } from '../values.js';
import { decodeLwm2mJson, encodeLwm2mJson } from './lwm2m-json.js';
import { decodeSenmlCbor, encodeSenmlCbor } from './senml-cbor.js';
import { decodeSenmlJson, encodeSenmlJson } from './senml-json.js';
import { decodeText, encodeText, singleResource } from './text.js';
import { recordsToTlv, tlvToRecords } from './tlv-records.js';

export const CF = {
  text: 0,
  linkFormat: 40,
  opaque: 42,
  senmlJson: 110,
  senmlCbor: 112,
  tlv: 11542,
  lwm2mJson: 11543,
  legacyTlv: 1542,
  legacyJson: 1543,
} as const;

export const FORMAT_NAMES: Record<string, number> = {
  text: CF.text,
  opaque: CF.opaque,
  'senml-json': CF.senmlJson,
  'senml-cbor': CF.senmlCbor,
  tlv: CF.tlv,
  'lwm2m-json': CF.lwm2mJson,
};

export function decodePayload(
  format: number | undefined,
  bytes: Uint8Array,
  base: Lwm2mPath,
  typeOf: TypeLookup,
): Decoded<Lwm2mRecord[]> {
  switch (format) {
    case CF.tlv:
    case CF.legacyTlv:
      return tlvToRecords(bytes, base, typeOf);
    case CF.senmlJson:
      return decodeSenmlJson(bytes, typeOf);
    case CF.senmlCbor:
      return decodeSenmlCbor(bytes, typeOf);
    case CF.lwm2mJson:
    case CF.legacyJson:
      return decodeLwm2mJson(bytes, typeOf);
    case undefined:
    case CF.text:
    case CF.opaque: {
      const path = singleResource(base);
      if (!path.ok) return path;
      if (format === CF.opaque) return ok([{ path: path.value, value: Uint8Array.from(bytes) }]);
      const value = decodeText(bytes, typeOf(path.value.obj, path.value.res));
      return value.ok ? ok([{ path: path.value, value: value.value }]) : value;
    }
    default:
      return fail(`unsupported content format ${format}`);
  }
}

export function encodePayload(
  format: number,
  records: readonly Lwm2mRecord[],
  base: Lwm2mPath,
  typeOf: TypeLookup,
): Decoded<Buffer> {
  switch (format) {
    case CF.tlv:
      return recordsToTlv(records, base, typeOf);
    case CF.senmlJson:
      return ok(encodeSenmlJson(records));
    case CF.senmlCbor:
      return ok(encodeSenmlCbor(records));
    case CF.lwm2mJson:
      return ok(encodeLwm2mJson(records, base));
    case CF.text:
    case CF.opaque: {
      const [only, ...more] = records;
      if (!only || more.length > 0) return fail('plain text and opaque carry exactly one value');
      if (format === CF.opaque && !(only.value instanceof Uint8Array)) return fail('opaque needs bytes');
      return ok(format === CF.opaque ? Buffer.from(only.value as Uint8Array) : encodeText(only.value));
    }
    default:
      return fail(`unsupported content format ${format}`);
  }
}
