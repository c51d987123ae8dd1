// How device/options applies its `options` to a device entry, as Zigbee2MQTT does: objects merge key by key at any
// depth, anything else (scalars, arrays) replaces, and null removes the key where it stands.

type Options = Record<string, unknown>;

export function isPlainObject(value: unknown): value is Options {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `current` with `patch` merged in; neither is changed. */
export function mergeOptions(current: Options, patch: Options): Options {
  const merged: Options = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else {
      const before = Object.hasOwn(merged, key) ? merged[key] : undefined;
      // Defined, not assigned: an assignment to a "__proto__" key (JSON.parse makes it an own key) would set the
      // entry's prototype, and the entry would then seem to hold every key of that object.
      Object.defineProperty(merged, key, {
        value: isPlainObject(value) && isPlainObject(before) ? mergeOptions(before, value) : value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return merged;
}
