// bridge/request/device/remove: {"id": "..."} (the id or the ieee_address). Removes the entry from the config
// file and the device's retained topics.

import { removeDevice } from '../../config/edit.js';
import type { Gateway } from '../../controller.js';
import { RequestError } from '../router.js';
import type { RequestData } from '../topics.js';

export async function deviceRemove(gw: Gateway, data: Record<string, unknown>): Promise<RequestData['device/remove']> {
  const ref = data.id ?? data.device ?? data.value;
  if (typeof ref !== 'string') throw new RequestError('expected {"id": "<device id>"}');
  const id = gw.deviceId(ref);
  const diff = await gw.editConfig((doc) => removeDevice(doc, id), `device ${id} removed`);
  return { ...diff, id, block: false, force: false };
}
