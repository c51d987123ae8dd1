// Between LwM2M resources and the device's MQTT view: named properties, raw path topics, typed /set values.

import { absoluteTime } from '../../common/senml.js';
import type { ObjectModel, ResourcePath } from './object-model.js';
import { formatPath, type Lwm2mPath, parsePath, pathSegments } from './path.js';
import { type Decoded, fail, ok } from './result.js';
import { type Lwm2mRecord, type Lwm2mValue, type ResourceType, toJsonValue } from './values.js';

/**
 * Records -> `{temperature: 25.5}` for the state, and raw `lwm2m/3303/0/5700` topics. Of several records of one
 * path (a Send with a time series) only the newest is kept; `nowSeconds` places relative SenML times.
 */
export function recordsToState(
  model: ObjectModel,
  records: readonly Lwm2mRecord[],
  nowSeconds: number,
): { properties: Record<string, unknown>; raw: Array<{ subtopic: string; value: string }> } {
  const properties: Record<string, unknown> = {};
  const raw: Array<{ subtopic: string; value: string }> = [];
  for (const r of newestPerPath(records, nowSeconds)) {
    const value = toJsonValue(r.value);
    const name = model.propertyOf(r.path);
    if (name) properties[name] = value;
    raw.push({ subtopic: rawSubtopic(r.path), value: String(value) });
  }
  return { properties, raw };
}

/** `lwm2m/<obj>/<inst>/<res>[/<ri>]` below the device topic. */
export function rawSubtopic(path: Lwm2mPath): string {
  return `lwm2m/${pathSegments(path).join('/')}`;
}

/** The newest record of each path (equal times: the later one), in the order of their first appearance. */
function newestPerPath(records: readonly Lwm2mRecord[], nowSeconds: number): readonly Lwm2mRecord[] {
  if (records.length < 2) return records;
  const newest = new Map<string, { record: Lwm2mRecord; time: number }>();
  for (const record of records) {
    const key = formatPath(record.path);
    const time = absoluteTime(record.time, nowSeconds);
    const kept = newest.get(key);
    if (!kept || time >= kept.time) newest.set(key, { record, time });
  }
  return [...newest.values()].map((n) => n.record);
}

/** A `/set` or `/get` key: a property name (`on_off`, `temperature_1`, `state`) or a path (`3311/0/5850`). */
export function resolveKey(
  model: ObjectModel,
  key: string,
): Decoded<{ path: ResourcePath | Lwm2mPath; property?: string }> {
  if (/^\/?\d/.test(key)) {
    const p = parsePath(key);
    return p.ok ? ok({ path: p.value }) : p;
  }
  const path = model.pathOfProperty(key);
  if (path) return ok({ path, property: key });
  // Zigbee2MQTT's `state` (what a plain ON/OFF on /set means) is the on/off resource (5850) of the first switch,
  // light or actuator instance.
  const onOff = key === 'state' ? model.pathOfProperty('on_off') : undefined;
  return onOff ? ok({ path: onOff, property: 'on_off' }) : fail(`unknown property "${key}"`);
}

const TRUE = new Set(['ON', 'on', 'true', '1', 'TOGGLE_ON']);
const FALSE = new Set(['OFF', 'off', 'false', '0']);

/** An MQTT JSON value as a value of the resource type (`"ON"` -> true for booleans, `"21"` -> 21 for numbers). */
export function coerceValue(input: unknown, type: ResourceType | undefined): Decoded<Lwm2mValue> {
  switch (type) {
    case 'boolean':
      if (typeof input === 'boolean') return ok(input);
      if (input === 1 || input === 0) return ok(input === 1);
      if (typeof input === 'string' && TRUE.has(input)) return ok(true);
      if (typeof input === 'string' && FALSE.has(input)) return ok(false);
      return fail(`expected a boolean (true/false, "ON"/"OFF"), got ${JSON.stringify(input)}`);
    case 'integer':
    case 'unsigned':
    case 'time':
    case 'float': {
      const n = typeof input === 'string' && input.trim() !== '' ? Number(input) : input;
      if (typeof n !== 'number' || !Number.isFinite(n)) return fail(`expected a number, got ${JSON.stringify(input)}`);
      if (type !== 'float' && !Number.isSafeInteger(n))
        return fail(`expected an integer, got ${JSON.stringify(input)}`);
      if (type === 'unsigned' && n < 0) return fail(`expected a non-negative integer, got ${n}`);
      return ok(n);
    }
    case 'string':
      return typeof input === 'string' ? ok(input) : fail(`expected a string, got ${JSON.stringify(input)}`);
    case 'opaque':
      return typeof input === 'string'
        ? ok(Uint8Array.from(Buffer.from(input, 'base64')))
        : fail('expected base64 text');
    case 'objlnk':
      return typeof input === 'string' && /^\d{1,5}:\d{1,5}$/.test(input)
        ? ok({ objlnk: input })
        : fail('expected an object link "obj:inst"');
    default:
      if (typeof input === 'number' || typeof input === 'boolean' || typeof input === 'string') return ok(input);
      return fail(`unsupported value ${JSON.stringify(input)}`);
  }
}
