// The table of bridge/request/<name> handlers (one file each).
import type { Gateway } from '../../controller.js';
import { RequestRouter } from '../router.js';
import { backup } from './backup.js';
import { configReload } from './config-reload.js';
import { deviceAdd } from './device-add.js';
import { deviceOptions } from './device-options.js';
import { deviceRemove } from './device-remove.js';
import { deviceRename } from './device-rename.js';
import { deviceTransportRequest } from './device-transport.js';
import { healthCheck } from './health-check.js';
import { info } from './info.js';
import { options } from './options.js';
import { permitJoin } from './permit-join.js';
import { restart } from './restart.js';

export function createRequestRouter(): RequestRouter<Gateway> {
  return new RequestRouter<Gateway>(deviceTransportRequest)
    .register('permit_join', permitJoin)
    .register('health_check', healthCheck)
    .register('restart', restart)
    .register('options', options)
    .register('info', info)
    .register('config/reload', configReload)
    .register('backup', backup)
    .register('device/add', deviceAdd)
    .register('device/remove', deviceRemove)
    .register('device/rename', deviceRename)
    .register('device/options', deviceOptions);
}
