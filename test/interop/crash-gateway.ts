// The set-up of the crash tests: a gateway config in a temp dir whose CoAP port stays the same across a SIGKILL and
// a restart (the devices keep the gateway's address), and a stop that kills.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ChildGateway } from '../helpers/child-gateway.js';
import { freeUdpPort } from '../sim/coap/libcoap.js';

export interface CrashGatewaySetup {
  dataDir: string;
  coapPort: number;
  configPath: string;
}

/**
 * Writes the config (`coap` merged into the adapter's settings, `bind` its address); `savedFile(dataDir)` is the file
 * the test watches for a save, whose directory is made first so that it can be watched before the gateway writes.
 */
export async function crashGatewayConfig(
  cleanups: Array<() => Promise<unknown>>,
  opts: {
    bind: string;
    coap?: Record<string, unknown>;
    devices: Record<string, unknown>[];
    savedFile: (dataDir: string) => string;
  },
): Promise<CrashGatewaySetup> {
  const dir = await mkdtemp(join(tmpdir(), 'z2m-crash-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  await mkdir(dirname(opts.savedFile(dataDir)), { recursive: true });
  const coapPort = await freeUdpPort(opts.bind);
  const configPath = join(dir, 'gateway.yaml');
  const config = {
    gateway: { id: 'gw1', base_topic: 'zephyr2mqtt', data_dir: dataDir },
    broker: { listeners: [{ type: 'mqtt', host: '127.0.0.1', port: 0 }], allow_anonymous: true },
    http: { host: '127.0.0.1', port: 0 },
    adapters: {
      coap: { enabled: true, bind: opts.bind, port: coapPort, ...opts.coap },
      serial: { enabled: false },
      ble: { enabled: false },
    },
    devices: opts.devices,
  };
  await writeFile(configPath, JSON.stringify(config)); // JSON is YAML
  return { dataDir, coapPort, configPath };
}

export async function killed(gateway: ChildGateway): Promise<void> {
  gateway.kill();
  await gateway.exited;
}
