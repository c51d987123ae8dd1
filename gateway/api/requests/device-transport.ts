// bridge/request/device/<name> for names the core does not handle: forwarded to the adapter of the device
// named in {"device": "<id>"} (e.g. device/smp, device/lwm2m).
import type { Gateway } from '../../controller.js';
import { RequestError } from '../router.js';

export async function deviceTransportRequest(
  gw: Gateway,
  name: string,
  data: Record<string, unknown>,
): Promise<unknown> {
  if (!name.startsWith('device/')) throw new RequestError(`unknown request "${name}"`);
  const deviceId = typeof data.device === 'string' ? data.device : typeof data.id === 'string' ? data.id : undefined;
  if (!deviceId) throw new RequestError('missing "device"');
  const { host } = gw.adapterFor(deviceId);
  const adapter = host.adapter;
  if (!adapter?.request) throw new RequestError(`the ${host.module.kind} adapter has no "${name}" request`);
  try {
    return await adapter.request(name.slice('device/'.length), deviceId, data);
  } catch (err) {
    gw.metrics.commandErrors.inc({ adapter: host.module.kind });
    throw err;
  }
}
