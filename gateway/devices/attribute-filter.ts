// A device's `filtered_attributes` (Zigbee2MQTT's option of that name): properties dropped as they arrive.
import type { StateValues } from '../adapter.js';

/** Compiled once per config entry's list: a reload makes new lists, so old ones go with their entries. */
const compiled = new WeakMap<readonly string[], readonly RegExp[]>();

function patternsOf(sources: readonly string[]): readonly RegExp[] {
  let patterns = compiled.get(sources);
  if (!patterns) {
    patterns = sources.map((source) => new RegExp(source));
    compiled.set(sources, patterns);
  }
  return patterns;
}

/** `values` without the properties whose name matches one of `sources` (the same object when none does). */
export function filterAttributes(values: StateValues, sources: readonly string[] | undefined): StateValues {
  if (!sources || sources.length === 0) return values;
  const patterns = patternsOf(sources);
  let kept: StateValues | undefined;
  for (const key of Object.keys(values)) {
    if (!patterns.some((pattern) => pattern.test(key))) continue;
    kept ??= { ...values };
    delete kept[key];
  }
  return kept ?? values;
}
