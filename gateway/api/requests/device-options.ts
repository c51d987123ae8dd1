// bridge/request/device/options: {"id": "<device>", "options": {"<key>": <value>, "<other>": null}} merges into
// the device's config entry (objects key by key, null removes), as Zigbee2MQTT's request of the same name does. The
// file is edited in place (comments elsewhere kept) and applied like a reload; the answer has the whole entry as it
// ran before and after (defaults included).

import { setDeviceOptions } from '../../config/edit.js';
import { isPlainObject, mergeOptions } from '../../config/merge-options.js';
import { proposedProblems } from '../../config/proposed.js';
import type { Gateway } from '../../controller.js';
import { RequestError } from '../router.js';
import type { RequestData } from '../topics.js';

/** Keys device/options leaves alone, with what does change them. */
const FIXED_KEYS = {
  id: 'device/rename changes the id',
  transport: 'remove the device and add it again with the other transport (device/remove, device/add)',
};

const USAGE = 'expected {"id": "<device id>", "options": {"<key>": <value>, or null to remove the key}}';

export async function deviceOptions(
  gw: Gateway,
  data: Record<string, unknown>,
): Promise<RequestData['device/options']> {
  const ref = data.id ?? data.device;
  const options = data.options;
  if (typeof ref !== 'string' || !isPlainObject(options) || Object.keys(options).length === 0)
    throw new RequestError(USAGE);
  const id = gw.deviceId(ref);
  const before = gw.devices.get(id)?.config as Record<string, unknown> | undefined;
  if (!before) throw new RequestError(`unknown device "${id}"`);
  for (const [key, instead] of Object.entries(FIXED_KEYS)) {
    if (key in options) throw new RequestError(`"${key}" cannot be changed with device/options: ${instead}`);
  }
  const proposed = mergeOptions(before, options);
  const problems = proposedProblems(gw.configSchema, { devices: [proposed] }, ['devices', '0']);
  if (problems.length > 0) throw new RequestError(`the proposed options are invalid: ${problems.join('; ')}`);
  const diff = await gw.editConfig((doc) => setDeviceOptions(doc, id, options), `device ${id} options changed`);
  const after = (gw.devices.get(id)?.config ?? {}) as Record<string, unknown>;
  return { ...diff, id, from: before, to: after, restart_required: false };
}
