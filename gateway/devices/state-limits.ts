// Bounds on a device's merged state (api.max_state_properties, api.max_state_bytes): a device that sends new
// property names in every message must not grow the gateway's memory or the broker's retained store forever.
import type { StateValues } from '../adapter.js';

export interface StateLimits {
  /** Most properties a state keeps, the gateway's own keys (GATEWAY_STATE_KEYS) not counted. */
  maxProperties: number;
  /** Largest state as JSON text, in UTF-8 bytes, the gateway's `update` not counted (`last_seen` is). */
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
/** The gateway's firmware update status in a device's state (Zigbee2MQTT's name). */
export const UPDATE_KEY = 'update';
const UPDATE = UPDATE_KEY;

/**
 * Keys the gateway itself writes into a device's state: `last_seen` (when it was last heard) and `update` (firmware
 * update progress, AdapterContext.deviceStatus). Not counted in max_state_properties and never dropped to fit, so
 * a device's values cannot push them out nor they the device's values. `update` does not count against
 * max_state_bytes either; `last_seen`, a fixed ~40 bytes, does.
 */
export const GATEWAY_STATE_KEYS: ReadonlySet<string> = new Set([LAST_SEEN, UPDATE]);

/**
 * True when a merged state and its JSON `text` are within the limits. Runs for every device message: two own-key
 * checks, a key count and a string length, and the UTF-8 length only for a text that could be over.
 */
export function withinStateLimits(state: StateValues, text: string, limits: StateLimits): boolean {
  if (Object.keys(state).length - gatewayKeyCount(state) > limits.maxProperties) return false;
  if (text.length * 3 <= limits.maxBytes) return true;
  return jsonBytesWithin(text, limits.maxBytes + exemptBytes(state));
}

/**
 * `merged` (the state before with `values` merged in, `text` its JSON) within the limits: the properties first
 * reported longest ago (insertion order) that `values` does not carry are dropped until it fits; the gateway's own
 * keys are never dropped. Refused when the values alone, with the gateway's keys, are over a limit.
 */
export function fitState(merged: StateValues, values: StateValues, text: string, limits: StateLimits): FittedState {
  const keys = Object.keys(merged);
  const candidates = keys.filter((k) => !GATEWAY_STATE_KEYS.has(k) && !Object.hasOwn(values, k));
  // `update` stays in every state tried below: its bytes are allowed on top of the limit.
  const maxBytes = limits.maxBytes + exemptBytes(merged);
  let count = keys.length - gatewayKeyCount(merged);
  let bytes = Buffer.byteLength(text);
  const setting: StateLimitSetting = count > limits.maxProperties ? 'max_state_properties' : 'max_state_bytes';
  if (count - candidates.length > limits.maxProperties) return { ok: false, setting: 'max_state_properties' };
  const minimal = withoutKeys(merged, keys, new Set(candidates));
  if (!jsonBytesWithin(minimal.text, maxBytes)) return { ok: false, setting: 'max_state_bytes' };

  const evicted: string[] = [];
  for (const key of candidates) {
    if (count <= limits.maxProperties && bytes <= maxBytes) break;
    evicted.push(key);
    count--;
    bytes -= entryBytes(key, merged[key]);
  }
  const fitted = withoutKeys(merged, keys, new Set(evicted));
  // The estimate can only be off for values whose JSON depends on where they stand (toJSON(key)): the minimal state
  // is known to fit.
  if (!jsonBytesWithin(fitted.text, maxBytes)) return { ok: true, ...minimal, evicted: candidates, setting };
  return { ok: true, ...fitted, evicted, setting };
}

/** How many of the gateway's own keys a state has (two own-key checks: this runs for every message). */
function gatewayKeyCount(state: StateValues): number {
  return (Object.hasOwn(state, LAST_SEEN) ? 1 : 0) + (Object.hasOwn(state, UPDATE) ? 1 : 0);
}

/** The bytes the gateway's `update` takes in the state's JSON, with its comma: allowed on top of max_state_bytes. */
function exemptBytes(state: StateValues): number {
  return Object.hasOwn(state, UPDATE) ? entryBytes(UPDATE, state[UPDATE]) : 0;
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

/** The bytes `"key":value,` takes in the state's JSON (with its comma: the only entry has none, one byte less). */
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
