// bridge/request/device/options: {"id": "<device>", "options": {"<key>": <value>, "<other>": null}} sets keys of
// the device's config entry (null removes one), as Zigbee2MQTT's request of the same name does. The file is edited
// in place (comments elsewhere kept) and applied like a reload; the answer has the keys' values before and after.

import { setDeviceOptions } from '../../config/edit.js';
import { proposedProblems } from '../../config/proposed.js';
import type { Gateway } from '../../controller.js';
import { RequestError } from '../router.js';
import type { RequestData } from '../topics.js';

const USAGE = 'expected {"id": "<device id>", "options": {"<key>": <value>, or null to remove the key}}';

export async function deviceOptions(
  gw: Gateway,
  data: Record<string, unknown>,
): Promise<RequestData['device/options']> {
  const id = data.id ?? data.device;
  const options = data.options;
  if (typeof id !== 'string' || !isObject(options) || Object.keys(options).length === 0) throw new RequestError(USAGE);
  const before = gw.devices.get(id)?.config as Record<string, unknown> | undefined;
  if (!before) throw new RequestError(`unknown device "${id}"`);
  for (const key of ['id', 'transport']) {
    if (key in options) {
      throw new RequestError(`"${key}" cannot be changed with device/options (device/rename changes the id)`);
    }
  }
  const proposed = { ...before };
  for (const [key, value] of Object.entries(options)) {
    if (value === null) delete proposed[key];
    else proposed[key] = value;
  }
  const problems = proposedProblems(gw.configSchema, { devices: [proposed] }, ['devices', '0']);
  if (problems.length > 0) throw new RequestError(`the proposed options are invalid: ${problems.join('; ')}`);
  const diff = await gw.editConfig((doc) => setDeviceOptions(doc, id, options), `device ${id} options changed`);
  const after = (gw.devices.get(id)?.config ?? {}) as Record<string, unknown>;
  const keys = Object.keys(options);
  return { id, from: pick(before, keys), to: pick(after, keys), ...diff };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pick(values: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((key) => [key, values[key] ?? null]));
}
