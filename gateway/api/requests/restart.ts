// bridge/request/restart: {} answers {} and restarts the gateway half a second later (Zigbee2MQTT's request): it
// stops (offline states published, persistence flushed), reads the config file again and starts, in the same
// process. Settings that need a restart (see config/reload's restart_required) take effect. A config file with
// problems is named in an error answer instead, and the gateway keeps running.
import type { Gateway } from '../../controller.js';

export async function restart(gw: Gateway): Promise<Record<string, never>> {
  await gw.requestRestart();
  return {};
}
