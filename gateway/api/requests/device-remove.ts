// bridge/request/device/remove: {"id": "...", "block"?: true, "force"?: true}, as Zigbee2MQTT's (`id`: the id or the
// ieee_address). Removes the entry from the config file and the device's retained topics. `block` also puts what the device's adapter will see of
// it (blockEntriesFor) on the config's `blocklist`, in the same edit, so that it is neither announced nor accepted
// again. `force` is taken and echoed: removing never waits for the device, so there is nothing to force.

import { z } from 'zod';
import { addBlocklistEntries, removeDevice } from '../../config/edit.js';
import type { Gateway } from '../../controller.js';
import { blockEntriesFor } from '../../devices/block-entries.js';
import { RequestError } from '../router.js';
import type { RequestData } from '../topics.js';

// Z2M also takes "true"/"false" (shell scripts, Node-RED).
const flag = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean()).default(false);
const schema = z.object({ block: flag, force: flag });

export async function deviceRemove(gw: Gateway, data: Record<string, unknown>): Promise<RequestData['device/remove']> {
  const ref = data.id ?? data.device ?? data.value;
  if (typeof ref !== 'string') throw new RequestError('expected {"id": "<device id>", "block"?: true, "force"?: true}');
  const id = gw.deviceId(ref);
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const key = String(parsed.error.issues[0]?.path[0]);
    throw new RequestError(`"${key}" must be true or false, got ${JSON.stringify(data[key])}`);
  }
  const { block, force } = parsed.data;
  const config = gw.devices.get(id)?.config as Record<string, unknown> | undefined;
  const blocked = block && config ? blockEntriesFor(config) : [];
  if (block && config && blocked.length === 0)
    throw new RequestError(
      `device "${id}" has nothing to block it by before it is configured (a BLE device matched by serial number ` +
        'only, a serial device by USB vid/pid only): remove it without "block" and add the address from its ' +
        'device_seen_unknown event to the blocklist',
    );
  const diff = await gw.editConfig(
    (doc) => {
      removeDevice(doc, id);
      if (blocked.length > 0) addBlocklistEntries(doc, blocked);
    },
    block ? `device ${id} removed and blocked` : `device ${id} removed`,
  );
  return { ...diff, id, block, force, ...(block ? { blocklist: blocked } : {}) };
}
