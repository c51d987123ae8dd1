// Devices the config leaves on an adapter it turns off (`adapters.<kind>.enabled: false`): they stay offline and
// their commands are refused. Not an error (switching an adapter off for a while is legitimate), so said as a
// warning by `run` at start and reload and by `validate`.
import type { GatewayConfig } from './schema.js';

export function adapterDisabled(config: GatewayConfig, kind: string): boolean {
  const section = (config.adapters as Record<string, { enabled?: boolean } | undefined>)[kind];
  return section?.enabled === false;
}

/** Per adapter kind, the enabled devices on it when it is disabled, each with its index in `devices`. */
export function devicesOnDisabledAdapters(config: GatewayConfig): Map<string, Array<{ id: string; index: number }>> {
  const stranded = new Map<string, Array<{ id: string; index: number }>>();
  config.devices.forEach((device, index) => {
    if (device.disabled || !adapterDisabled(config, device.transport)) return;
    stranded.set(device.transport, [...(stranded.get(device.transport) ?? []), { id: device.id, index }]);
  });
  return stranded;
}

/** What is wrong and how to mend it, for the log line (`message (hint)`) and `validate`'s issue. */
export function strandedDevicesIssue(kind: string, ids: readonly string[]): { message: string; hint: string } {
  return {
    message:
      `the ${kind} adapter is disabled in the config (adapters.${kind}.enabled: false), so its devices stay offline ` +
      `and their commands are refused: ${ids.join(', ')}`,
    hint: `set adapters.${kind}.enabled: true, or disabled: true on these devices`,
  };
}
