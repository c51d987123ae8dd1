// TLV <-> records: walks the entry tree, typing values with the object model.
import type { Lwm2mPath } from '../path.js';
import { type Decoded, fail, ok } from '../result.js';
import type { Lwm2mRecord, TypeLookup } from '../values.js';
import { decodeTlv, encodeTlv, type TlvEntry } from './tlv.js';
import { decodeTlvValue, encodeTlvValue } from './tlv-values.js';

export function tlvToRecords(bytes: Uint8Array, base: Lwm2mPath, typeOf: TypeLookup): Decoded<Lwm2mRecord[]> {
  const tree = decodeTlv(bytes);
  if (!tree.ok) return tree;
  const out: Lwm2mRecord[] = [];
  // Zephyr answers a Read of /obj/inst/res/ri with a bare Resource Instance entry, without the Multiple Resource
  // wrapper: the resource id is then the path's.
  const res = base.ri === undefined ? undefined : base.res;
  const err = walk(unwrapInstance(tree.value, base), { obj: base.obj, inst: base.inst, res }, typeOf, out);
  return err ? fail(err) : ok(out);
}

/** Some clients answer a Read of /obj/inst with that instance's Object Instance entry around the resources (Leshan
 * takes it too): its children are then what a bare answer would hold. */
function unwrapInstance(entries: TlvEntry[], base: Lwm2mPath): TlvEntry[] {
  const [only, ...more] = entries;
  if (!only || more.length > 0 || only.kind !== 'instance' || only.id !== base.inst) return entries;
  return only.children ?? [];
}

function walk(entries: TlvEntry[], at: Lwm2mPath, typeOf: TypeLookup, out: Lwm2mRecord[]): string | undefined {
  for (const e of entries) {
    if (e.kind === 'instance') {
      if (at.inst !== undefined) return `TLV object instance ${e.id} inside instance ${at.inst}`;
      const err = walk(e.children ?? [], { obj: at.obj, inst: e.id }, typeOf, out);
      if (err) return err;
      continue;
    }
    const inst = at.inst;
    if (inst === undefined) return `TLV resource ${e.id} without an object instance`;
    if (e.kind === 'multiple') {
      const err = walk(e.children ?? [], { obj: at.obj, inst, res: e.id }, typeOf, out);
      if (err) return err;
      continue;
    }
    const res = e.kind === 'resource' ? e.id : at.res;
    if (res === undefined) return `TLV resource instance ${e.id} outside a multiple resource`;
    const value = decodeTlvValue(e.value, typeOf(at.obj, res));
    if (!value.ok) return `${at.obj}/${inst}/${res}: ${value.error}`;
    const path = e.kind === 'resource_instance' ? { obj: at.obj, inst, res, ri: e.id } : { obj: at.obj, inst, res };
    out.push({ path, value: value.value });
  }
  return undefined;
}

/** Encodes records below `base`: bare resources for a resource or instance path, instance entries for an object path. */
export function recordsToTlv(records: readonly Lwm2mRecord[], base: Lwm2mPath, typeOf: TypeLookup): Decoded<Buffer> {
  const byInst = new Map<number, Map<number, Lwm2mRecord[]>>();
  for (const r of records) {
    const resources = byInst.get(r.path.inst) ?? new Map<number, Lwm2mRecord[]>();
    byInst.set(r.path.inst, resources);
    const list = resources.get(r.path.res) ?? [];
    list.push(r);
    resources.set(r.path.res, list);
  }
  const instances: TlvEntry[] = [];
  for (const [inst, resources] of byInst) {
    const children: TlvEntry[] = [];
    for (const [res, list] of resources) {
      const type = typeOf(base.obj, res);
      const multiple = list.some((r) => r.path.ri !== undefined);
      if (!multiple) {
        const first = list[0];
        if (!first) continue;
        const v = encodeTlvValue(first.value, type);
        if (!v.ok) return v;
        children.push({ kind: 'resource', id: res, value: v.value });
        continue;
      }
      const items: TlvEntry[] = [];
      for (const r of list) {
        const v = encodeTlvValue(r.value, type);
        if (!v.ok) return v;
        items.push({ kind: 'resource_instance', id: r.path.ri ?? 0, value: v.value });
      }
      children.push({ kind: 'multiple', id: res, value: new Uint8Array(), children: items });
    }
    instances.push({ kind: 'instance', id: inst, value: new Uint8Array(), children });
  }
  if (base.inst !== undefined) return ok(encodeTlv(instances.flatMap((i) => i.children ?? [])));
  return ok(encodeTlv(instances));
}
