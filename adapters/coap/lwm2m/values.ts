import type { Lwm2mPath } from './path.js';

/** An object link (`obj:inst`), kept distinct from strings so it re-encodes as a link. */
export interface ObjectLink {
  objlnk: string;
}

/** A decoded resource value. Integers and floats are both numbers; opaque data stays bytes. */
export type Lwm2mValue = number | boolean | string | Uint8Array | ObjectLink;

/** One resource (or resource instance) value at a full path: the common form of every content format. */
export interface Lwm2mRecord {
  path: Lwm2mPath & { inst: number; res: number };
  value: Lwm2mValue;
  /** SenML time, seconds (absolute or relative as sent). */
  time?: number | undefined;
}

/** Resource data types of the object model. */
export type ResourceType =
  | 'string'
  | 'integer'
  | 'unsigned'
  | 'float'
  | 'boolean'
  | 'opaque'
  | 'time'
  | 'objlnk'
  | 'none';

/** Looks up the data type of a resource; undefined when the object model does not know it. */
export type TypeLookup = (obj: number, res: number) => ResourceType | undefined;

export function isObjectLink(v: unknown): v is ObjectLink {
  return (
    typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && typeof (v as ObjectLink).objlnk === 'string'
  );
}

/** A JSON-friendly form for MQTT: opaque bytes become base64 text. */
export function toJsonValue(v: Lwm2mValue): string | number | boolean {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (isObjectLink(v)) return v.objlnk;
  return v;
}
