// bridge/request/device/<name> for names the core does not handle: forwarded to the adapter of the device
// named in {"device": "<id>"}, {"id": "<id>"} or the bare payload (e.g. device/smp, device/lwm2m, ota_update).

import { suggest } from '../../config/issues.js';
import type { Gateway } from '../../controller.js';
import { AdapterRequestError, RequestError, unknownRequest } from '../router.js';

export async function deviceTransportRequest(
  gw: Gateway,
  name: string,
  data: Record<string, unknown>,
  known: readonly string[] = [],
): Promise<unknown> {
  if (!name.startsWith('device/')) throw new RequestError(unknownRequest(name, known));
  // Zigbee2MQTT's device requests also take the bare device id (`door-node`, or `"door-node"`): {"id": ...}.
  const bare = Object.keys(data).length === 1 && typeof data.value === 'string';
  const input = bare ? { id: data.value } : data;
  const ref = typeof input.device === 'string' ? input.device : typeof input.id === 'string' ? input.id : undefined;
  if (!ref) {
    // Most likely a misspelt core request (device/renmae) rather than an adapter's request without its device.
    const verb = name.slice('device/'.length);
    const core = known.filter((k) => k.startsWith('device/')).map((k) => k.slice('device/'.length));
    const hint = suggest(verb, core);
    throw new RequestError(
      hint
        ? `unknown request "${name}" (${hint.replace('"', '"device/')})`
        : `missing "device": "${name}" is passed to the adapter of the device it names`,
    );
  }
  const deviceId = gw.deviceId(ref);
  const { host } = gw.adapterFor(deviceId);
  const adapter = host.adapter;
  if (!adapter?.request) throw new RequestError(`the ${host.module.kind} adapter has no "${name}" request`);
  try {
    return await adapter.request(name.slice('device/'.length), deviceId, input);
  } catch (err) {
    throw new AdapterRequestError(host.module.kind, err);
  }
}
