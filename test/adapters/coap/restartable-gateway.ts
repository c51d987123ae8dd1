// The real gateway with the CoAP adapter on a data dir and port the test keeps, so that it can be stopped (cleanly,
// or the way a crash leaves it) and started again where a device still waits for its commands.
import { watch } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { CoapAdapter } from '../../../adapters/coap/coap-adapter.js';
import type { Logger } from '../../../gateway/logger.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';

export interface CoapGateway {
  gw: TestGateway;
  mqtt: MqttClient;
  adapter: CoapAdapter;
  port: number;
}

/** command-observers.json as the tests read it. */
export interface SavedJson {
  devices: Record<
    string,
    {
      observers: { address: string; port: number; token: string }[];
      sequence?: number;
      command?: { payload: Record<string, unknown>; etag: string };
    }
  >;
}

export const observersFile = (dataDir: string) => join(dataDir, 'adapters', 'coap', 'command-observers.json');
export const registrationsFile = (dataDir: string) => join(dataDir, 'adapters', 'coap', 'lwm2m-registrations.json');

export async function startCoapGateway(
  dataDir: string,
  devices: Record<string, unknown>[],
  /** `coap`: settings of adapters.coap over the defaults here (the LwM2M simulator needs `bind: 127.0.0.1`). */
  opts: { port?: number; logger?: Logger; coap?: Record<string, unknown> } = {},
): Promise<CoapGateway> {
  // Made here (the adapter makes it on its first save) so that savedFile() can watch it from the start.
  await mkdir(dirname(observersFile(dataDir)), { recursive: true });
  const gw = await startTestGateway(
    {
      gateway: { data_dir: dataDir },
      devices,
      adapters: {
        coap: { enabled: true, bind: '::1', port: opts.port ?? 0, ack_timeout: 0.2, max_retransmit: 2, ...opts.coap },
      },
    } as never,
    opts.logger ? { logger: opts.logger } : {},
  );
  const adapter = gw.gateway.adapterFor(devices[0]?.id as string).host.adapter as unknown as CoapAdapter;
  return { gw, mqtt: await gw.connect(), adapter, port: adapter.endpoint.port };
}

/**
 * What a crash or power cut leaves: the devices hear nothing more (no 5.03), and the data dir holds what was saved
 * while the gateway ran. The gateway is then stopped to free its port and data dir, and the files its stop() saved
 * in the adapter's directory are replaced by those it had saved before.
 */
export async function crash(g: CoapGateway): Promise<void> {
  await g.adapter.endpoint.stop();
  const dir = dirname(observersFile(g.gw.dataDir));
  const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  const saved = await Promise.all(names.map(async (name) => [name, await readFile(join(dir, name))] as const));
  await g.gw.stop();
  for (const [name, content] of saved) await writeFile(join(dir, name), content);
}

/** A file as an earlier run would have left it. */
export async function writeSavedFile(dataDir: string, content: string): Promise<void> {
  await mkdir(dirname(observersFile(dataDir)), { recursive: true });
  await writeFile(observersFile(dataDir), content);
}

/** The saved file once `accept` holds for it (it is saved a moment after each change), waited for up to `timeoutMs`. */
export function savedFile(
  dataDir: string,
  accept: (saved: SavedJson) => boolean,
  timeoutMs = 5000,
): Promise<SavedJson> {
  return savedJson(observersFile(dataDir), accept, timeoutMs);
}

/** The JSON in `file` once `accept` holds for it, waited for up to `timeoutMs` (the directory must exist). */
export function savedJson<T>(file: string, accept: (saved: T) => boolean, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    let last = '';
    const watcher = watch(dirname(file));
    const timer = setTimeout(() => {
      watcher.close();
      reject(new Error(`${file} did not hold what the test waits for within ${timeoutMs} ms; last: ${last}`));
    }, timeoutMs);
    const check = async () => {
      last = await readFile(file, 'utf8').catch(() => '');
      let saved: T;
      try {
        saved = JSON.parse(last) as T;
      } catch {
        return; // not there yet
      }
      if (!accept(saved)) return;
      clearTimeout(timer);
      watcher.close();
      resolve(saved);
    };
    watcher.on('change', () => void check());
    void check();
  });
}
