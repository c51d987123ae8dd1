// The config file of a measured gateway: embedded broker and HTTP on ephemeral loopback ports, the CoAP adapter
// on loopback, serial and BLE off, and the given device lines (YAML flow maps, one per device).
import { join } from 'node:path';

export function coapBenchConfig(
  dir: string,
  devices: readonly string[],
  opts: { logLevel?: string; dashboard?: boolean } = {},
): string {
  const gateway = opts.logLevel ? `, log_level: ${opts.logLevel}` : '';
  const dashboard = opts.dashboard === false ? ', dashboard: false' : '';
  return `gateway: { id: bench, data_dir: ${join(dir, 'data')}${gateway} }
broker:
  listeners: [{ type: mqtt, host: 127.0.0.1, port: 0 }]
  allow_anonymous: true
http: { host: 127.0.0.1, port: 0${dashboard} }
adapters:
  coap: { enabled: true, bind: 127.0.0.1, port: 0 }
  serial: { enabled: false }
  ble: { enabled: false }
devices:
${devices.map((d) => `  - ${d}`).join('\n')}
`;
}
