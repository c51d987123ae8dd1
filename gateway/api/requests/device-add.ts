// bridge/request/device/add: {"id": "...", "transport": "...", ...the entry's keys}. Appends the entry to
// the config file (comments kept), then applies it. The entry is validated before the file is written.

import { addDevice } from '../../config/edit.js';
import { proposedProblems } from '../../config/proposed.js';
import type { Gateway } from '../../controller.js';
import { RequestError } from '../router.js';
import type { ConfigDiff } from '../topics.js';

export async function deviceAdd(gw: Gateway, data: Record<string, unknown>): Promise<ConfigDiff> {
  const entry = data.device && typeof data.device === 'object' ? (data.device as Record<string, unknown>) : data;
  if (typeof entry.id !== 'string' || typeof entry.transport !== 'string')
    throw new RequestError('expected the device entry: {"id": "...", "transport": "...", ...}');
  const problems = proposedProblems(gw.configSchema, { devices: [entry] }, ['devices', '0']);
  if (problems.length > 0) throw new RequestError(`the proposed entry is invalid: ${problems.join('; ')}`);
  return gw.editConfig((doc) => addDevice(doc, entry), `device ${entry.id} added`);
}
