// Plain text (0) and opaque (42): one resource value, typed by the object model.
import type { Lwm2mPath } from '../path.js';
import { type Decoded, fail, ok } from '../result.js';
import { isObjectLink, type Lwm2mValue, type ResourceType } from '../values.js';

export function decodeText(bytes: Uint8Array, type: ResourceType | undefined): Decoded<Lwm2mValue> {
  const text = Buffer.from(bytes).toString('utf8');
  switch (type) {
    case 'integer':
    case 'unsigned':
    case 'time':
    case 'float': {
      const n = Number(text.trim());
      if (text.trim() === '' || !Number.isFinite(n)) return fail(`"${text.slice(0, 32)}" is not a number`);
      if (type !== 'float' && !Number.isInteger(n)) return fail(`"${text.slice(0, 32)}" is not an integer`);
      return ok(n);
    }
    case 'boolean':
      if (text === '1' || text === 'true') return ok(true);
      if (text === '0' || text === 'false') return ok(false);
      return fail(`"${text.slice(0, 32)}" is not a boolean`);
    case 'objlnk':
      if (!/^\d{1,5}:\d{1,5}$/.test(text)) return fail(`"${text.slice(0, 32)}" is not an object link`);
      return ok({ objlnk: text });
    case 'opaque':
      return ok(Uint8Array.from(Buffer.from(text, 'base64')));
    default:
      return ok(text);
  }
}

export function encodeText(value: Lwm2mValue): Buffer {
  if (value instanceof Uint8Array) return Buffer.from(Buffer.from(value).toString('base64'), 'utf8');
  if (isObjectLink(value)) return Buffer.from(value.objlnk, 'utf8');
  if (typeof value === 'boolean') return Buffer.from(value ? '1' : '0', 'utf8');
  return Buffer.from(String(value), 'utf8');
}

/** The single resource a text/opaque payload belongs to. */
export function singleResource(base: Lwm2mPath): Decoded<Lwm2mPath & { inst: number; res: number }> {
  if (base.inst === undefined || base.res === undefined) return fail('plain text and opaque carry one resource only');
  return ok({ ...base, inst: base.inst, res: base.res });
}
