// bridge/request/info: the bridge/info payload on demand.
import type { Gateway } from '../../controller.js';
import type { BridgeInfoPayload } from '../topics.js';

export function info(gw: Gateway): BridgeInfoPayload {
  return gw.info();
}
