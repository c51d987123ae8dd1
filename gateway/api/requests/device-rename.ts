// bridge/request/device/rename: {"from": "<id>", "to": "<new id>"} changes the topic id;
// {"from": "<id>", "name": "..."} changes the display name. Both may be given. {"last": true} in place of "from"
// names the device added last (by device/add or a reload), as Zigbee2MQTT's "last joined device".

import { z } from 'zod';
import { deviceBaseShape } from '../../config/device-base.js';
import { renameDevice } from '../../config/edit.js';
import { proposedProblems } from '../../config/proposed.js';
import type { Gateway } from '../../controller.js';
import { RequestError } from '../router.js';
import type { RequestData } from '../topics.js';

/** What the request may change, checked like the config file checks a device's id and name. */
const changeSchema = z.object({ to: deviceBaseShape.id.optional(), name: deviceBaseShape.name });

/** Zigbee2MQTT's {"last": true}: the device that joined last. */
function lastJoined(gw: Gateway): string {
  const id = gw.lastJoinedDevice();
  if (id === undefined)
    throw new RequestError('no device joined since the gateway started (or the last one to join was removed)');
  return id;
}

export async function deviceRename(gw: Gateway, data: Record<string, unknown>): Promise<RequestData['device/rename']> {
  const ref = data.from ?? data.id ?? (data.last === true ? lastJoined(gw) : undefined);
  const to = data.to;
  const name = data.name;
  if (typeof ref !== 'string') throw new RequestError('expected {"from": "<device id>", "to": "<new id>"}');
  const from = gw.deviceId(ref);
  if (to !== undefined && typeof to !== 'string') throw new RequestError('"to" must be a string');
  if (name !== undefined && typeof name !== 'string') throw new RequestError('"name" must be a string');
  if (to === undefined && name === undefined) throw new RequestError('give "to" (new id) and/or "name"');
  const change = { ...(to !== undefined ? { to } : {}), ...(name !== undefined ? { name } : {}) };
  const problems = proposedProblems(changeSchema, change);
  if (problems.length > 0) throw new RequestError(`the proposed change is invalid: ${problems.join('; ')}`);
  const renamed = to !== undefined && to !== from ? { renamed: { from, to } } : {};
  const diff = await gw.editConfig((doc) => renameDevice(doc, from, change), `device ${from} renamed`, renamed);
  if (to !== undefined && to !== from) gw.event('device_renamed', { from, to });
  return { ...diff, from, to: to ?? from, homeassistant_rename: false };
}
