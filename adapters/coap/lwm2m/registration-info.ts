// What bridge/devices shows of an LwM2M registration (a device's `info.lwm2m`), and whether an Update changed it:
// bridge/devices is retained and carries every device, so a periodic Update that changes nothing does not republish it.
import type { LinkEntry } from './link-format.js';
import { formatPath } from './path.js';
import type { Registration } from './registration-store.js';

export interface RegistrationInfo {
  endpoint: string;
  version: string;
  binding: string;
  queue_mode: boolean;
  lifetime: number;
  content_format: number;
  address: string;
  objects: readonly string[];
}

export function registrationInfo(reg: Registration): RegistrationInfo {
  return {
    endpoint: reg.endpoint,
    version: reg.version,
    binding: reg.binding,
    queue_mode: reg.queueMode,
    lifetime: reg.lifetime,
    content_format: reg.contentFormat,
    address: `[${reg.peer.address}]:${reg.peer.port}`,
    objects: objectsOf(reg.links),
  };
}

/** Field by field, so that a field added to RegistrationInfo is compared without being listed here too. */
export function sameRegistrationInfo(a: RegistrationInfo, b: RegistrationInfo): boolean {
  return (Object.keys(a) as (keyof RegistrationInfo)[]).every((key) =>
    key === 'objects' ? sameList(a.objects, b.objects) : a[key] === b[key],
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((item, i) => item === b[i]));
}

// The object paths of a registration's links, computed once per (shared) link list.
const objectLists = new WeakMap<readonly LinkEntry[], readonly string[]>();
export function objectsOf(links: readonly LinkEntry[]): readonly string[] {
  let objects = objectLists.get(links);
  if (!objects) {
    objects = Object.freeze(links.flatMap((l) => (l.path ? [formatPath(l.path)] : [])));
    objectLists.set(links, objects);
  }
  return objects;
}
