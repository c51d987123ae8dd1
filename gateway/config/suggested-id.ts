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
