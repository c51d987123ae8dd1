// Which listed port a device entry means. Pure: a config entry and the current listing in, a path out.
import type { SerialDevice } from './config.js';
import type { SerialPortInfo } from './port-list.js';

export function matchPort(
  match: NonNullable<SerialDevice['match']>,
  ports: readonly SerialPortInfo[],
): SerialPortInfo | undefined {
  return ports.find((p) => {
    if (match.usb) {
      if (p.vid !== match.usb.vid) return false;
      if (match.usb.pid && p.pid !== match.usb.pid) return false;
      if (match.usb.serial && p.serialNumber !== match.usb.serial) return false;
    }
    if (match.by_id) {
      const name = match.by_id.replace(/^.*\/by-id\//, '');
      if (!p.byId.includes(name)) return false;
    }
    return Boolean(match.usb || match.by_id);
  });
}

/** What an onboarding config entry for an unknown port would look like. */
export function suggestedConfig(port: SerialPortInfo): Record<string, unknown> {
  if (port.vid) {
    const usb: Record<string, string> = { vid: port.vid };
    if (port.pid) usb.pid = port.pid;
    if (port.serialNumber) usb.serial = port.serialNumber;
    return { transport: 'serial', match: { usb } };
  }
  if (port.byId[0]) return { transport: 'serial', match: { by_id: port.byId[0] } };
  return { transport: 'serial', path: port.path };
}
