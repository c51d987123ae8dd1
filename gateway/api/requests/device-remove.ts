// bridge/request/device/remove: {"id": "..."}. Removes the entry from the config file and the device's
// retained topics.

import { removeDevice } from '../../config/edit.js';
import type { Gateway } from '../../controller.js';
import { RequestError } from '../router.js';
import type { RequestData } from '../topics.js';

export async function deviceRemove(gw: Gateway, data: Record<string, unknown>): Promise<RequestData['device/remove']> {
  const id = data.id ?? data.device ?? data.value;
  if (typeof id !== 'string') throw new RequestError('expected {"id": "<device id>"}');
  const diff = await gw.editConfig((doc) => removeDevice(doc, id), `device ${id} removed`);
  return { ...diff, id, block: false, force: false };
}
