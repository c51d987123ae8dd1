import { type Decoded, fail, ok } from './result.js';

/** An LwM2M path: /obj, /obj/inst, /obj/inst/res or /obj/inst/res/ri. */
export interface Lwm2mPath {
  obj: number;
  inst?: number | undefined;
  res?: number | undefined;
  ri?: number | undefined;
}

const MAX_ID = 65535;

/** Parses "/3303/0/5700", "3303/0/5700" or "3/0/7/1"; ids are 0..65535. */
export function parsePath(text: string): Decoded<Lwm2mPath> {
  const trimmed = text.replace(/^\//, '').replace(/\/$/, '');
  const parts = trimmed.split('/');
  if (trimmed === '' || parts.length > 4) return fail(`invalid LwM2M path "${text}"`);
  const ids: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,5}$/.test(part)) return fail(`invalid LwM2M path "${text}"`);
    const id = Number(part);
    if (id > MAX_ID) return fail(`LwM2M path id out of range in "${text}"`);
    ids.push(id);
  }
  const [obj, inst, res, ri] = ids;
  if (obj === undefined) return fail(`invalid LwM2M path "${text}"`);
  return ok({ obj, inst, res, ri });
}

export function formatPath(p: Lwm2mPath): string {
  return `/${pathSegments(p).join('/')}`;
}

/** Uri-Path segments for a request on this path. */
export function pathSegments(p: Lwm2mPath): string[] {
  const out = [String(p.obj)];
  if (p.inst !== undefined) out.push(String(p.inst));
  if (p.inst !== undefined && p.res !== undefined) out.push(String(p.res));
  if (p.inst !== undefined && p.res !== undefined && p.ri !== undefined) out.push(String(p.ri));
  return out;
}

/** True when `inner` is `outer` or lies below it. */
export function pathWithin(inner: Lwm2mPath, outer: Lwm2mPath): boolean {
  if (inner.obj !== outer.obj) return false;
  if (outer.inst !== undefined && inner.inst !== outer.inst) return false;
  if (outer.res !== undefined && inner.res !== outer.res) return false;
  if (outer.ri !== undefined && inner.ri !== outer.ri) return false;
  return true;
}
