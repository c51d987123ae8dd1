// Reading a device's config entry as untyped data (block entries, what an adapter would report, HA identities).
export type Entry = Record<string, unknown>;

/** The value as an object, or undefined. */
export function entryObject(v: unknown): Entry | undefined {
  return typeof v === 'object' && v !== null ? (v as Entry) : undefined;
}

/** The value as a non-empty string, or undefined. */
export function entryText(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** A serial match's `by_id` (a link name, or the whole link) as the /dev/serial/by-id path the adapter reports. */
export function byIdPath(byId: string): string {
  return `/dev/serial/by-id/${byId.replace(/^.*\/by-id\//, '')}`;
}
