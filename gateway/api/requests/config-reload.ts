// bridge/request/config/reload: re-read the config file; an invalid file is rejected and the running
// config stays in force.
import type { Gateway } from '../../controller.js';
import type { ConfigDiff } from '../topics.js';

export function configReload(gw: Gateway): Promise<ConfigDiff> {
  return gw.reload('request');
}
