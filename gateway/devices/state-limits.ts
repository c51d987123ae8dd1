// Bounds on a device's merged state (api.max_state_properties, api.max_state_bytes): a device that sends new
// property names in every message must not grow the gateway's memory or the broker's retained store forever.
import type { StateValues } from '../adapter.js';

export interface StateLimits {
  /** Most properties a state keeps, `last_seen` not counted. */
  maxProperties: number;
  /** Largest state as JSON text, in UTF-8 bytes. */
  maxBytes: number;
}

/** The config key that was hit, under `api`. */
export type StateLimitSetting = 'max_state_properties' | 'max_state_bytes';

export type FittedState =
  /** The state within the limits, with the properties dropped to get there (oldest first). */
  | { ok: true; state: StateValues; text: string; evicted: string[]; setting: StateLimitSetting }
  /** The message's own values do not fit: nothing to drop would help. */
  | { ok: false; setting: StateLimitSetting };

const LAST_SEEN = 'last_seen';

/**
 * True when a merged state (which always has `last_seen`) and its JSON `text` are within the limits. Runs for every
 * device message: a key count and a string length, and the UTF-8 length only for a text that could be over.
 */
export function withinStateLimits(state: StateValues, text: string, limits: StateLimits): boolean {
  return Object.keys(state).length - 1 <= limits.maxProperties && jsonBytesWithin(text, limits.maxBytes);
}

/**
 * `merged` (the state before with `values` merged in, `text` its JSON) within the limits: the properties first
 * reported longest ago (insertion order) that `values` does not carry are dropped until it fits. Refused when the
 * values alone, with `last_seen`, are over a limit.
 */
export function fitState(merged: StateValues, values: StateValues, text: string, limits: StateLimits): FittedState {
  const keys = Object.keys(merged);
  const candidates = keys.filter((k) => k !== LAST_SEEN && !Object.hasOwn(values, k));
  let count = keys.length - 1;
  let bytes = Buffer.byteLength(text);
  const setting: StateLimitSetting = count > limits.maxProperties ? 'max_state_properties' : 'max_state_bytes';
  if (count - candidates.length > limits.maxProperties) return { ok: false, setting: 'max_state_properties' };
  const minimal = withoutKeys(merged, keys, new Set(candidates));
  if (!jsonBytesWithin(minimal.text, limits.maxBytes)) return { ok: false, setting: 'max_state_bytes' };

  const evicted: string[] = [];
  for (const key of candidates) {
    if (count <= limits.maxProperties && bytes <= limits.maxBytes) break;
    evicted.push(key);
    count--;
    bytes -= entryBytes(key, merged[key]);
  }
  const fitted = withoutKeys(merged, keys, new Set(evicted));
  // The estimate can only be off for values whose JSON depends on where they stand (toJSON(key)): the minimal state
  // is known to fit.
  if (!jsonBytesWithin(fitted.text, limits.maxBytes)) return { ok: true, ...minimal, evicted: candidates, setting };
  return { ok: true, ...fitted, evicted, setting };
}

function withoutKeys(
  merged: StateValues,
  keys: readonly string[],
  drop: ReadonlySet<string>,
): { state: StateValues; text: string } {
  // fromEntries defines properties: an assignment to a device's "__proto__" key would set the prototype instead.
  const state: StateValues = Object.fromEntries(keys.filter((key) => !drop.has(key)).map((key) => [key, merged[key]]));
  return { state, text: JSON.stringify(state) };
}

/** The bytes `"key":value,` takes in the state's JSON (last_seen stays, so every entry has its comma). */
function entryBytes(key: string, value: unknown): number {
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) return 0; // undefined and functions are left out of JSON
  return Buffer.byteLength(JSON.stringify(key)) + 1 + Buffer.byteLength(json) + 1;
}

/** UTF-8 takes one to three bytes per UTF-16 code unit: only a text in between needs counting. */
function jsonBytesWithin(text: string, maxBytes: number): boolean {
  if (text.length * 3 <= maxBytes) return true;
  return text.length <= maxBytes && Buffer.byteLength(text) <= maxBytes;
}
