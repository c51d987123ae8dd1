// A config id (device-base.ts: [a-z0-9][a-z0-9_-]{0,62}, not "bridge") made from what a device calls
// itself: an LwM2M endpoint name, or the id in /ps/<id> of a device not onboarded yet.

export function suggestDeviceId(name: string, fallback: string): string {
  const id = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, 63);
  if (id === '') return fallback;
  return id === 'bridge' ? 'bridge-device' : id;
}

/** `base` when no device has it, else the first free `base-2`, `base-3`... (within the 63 characters of an id). */
export function uniqueDeviceId(base: string, taken: (id: string) => boolean): string {
  let id = base;
  for (let n = 2; taken(id) && n < 1000; n++) id = `${base.slice(0, 58)}-${n}`;
  return id;
}
