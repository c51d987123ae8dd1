// The real gateway with the CoAP adapter on a data dir and port the test keeps, so that it can be stopped (cleanly,
// or the way a crash leaves it) and started again where a device still waits for its commands.
import { watch } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
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

export async function startCoapGateway(
  dataDir: string,
  devices: Record<string, unknown>[],
  opts: { port?: number; logger?: Logger } = {},
): Promise<CoapGateway> {
  // Made here (the adapter makes it on its first save) so that savedFile() can watch it from the start.
  await mkdir(dirname(observersFile(dataDir)), { recursive: true });
  const gw = await startTestGateway(
    {
      gateway: { data_dir: dataDir },
      devices,
      adapters: { coap: { enabled: true, bind: '::1', port: opts.port ?? 0, ack_timeout: 0.2, max_retransmit: 2 } },
    } as never,
    opts.logger ? { logger: opts.logger } : {},
  );
  const adapter = gw.gateway.adapterFor(devices[0]?.id as string).host.adapter as unknown as CoapAdapter;
  return { gw, mqtt: await gw.connect(), adapter, port: adapter.endpoint.port };
}

/**
 * What a crash or power cut leaves: the devices hear nothing more (no 5.03), and the data dir holds what was saved
 * while the gateway ran. The gateway is then stopped to free its port and data dir, and the file its stop() saved
 * is replaced by the one it had saved before.
 */
export async function crash(g: CoapGateway): Promise<void> {
  await g.adapter.endpoint.stop();
  const file = observersFile(g.gw.dataDir);
  const saved = await readFile(file, 'utf8');
  await g.gw.stop();
  await writeFile(file, saved);
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
  const file = observersFile(dataDir);
  return new Promise((resolve, reject) => {
    let last = '';
    const watcher = watch(dirname(file));
    const timer = setTimeout(() => {
      watcher.close();
      reject(new Error(`${file} did not hold what the test waits for within ${timeoutMs} ms; last: ${last}`));
    }, timeoutMs);
    const check = async () => {
      last = await readFile(file, 'utf8').catch(() => '');
      let saved: SavedJson;
      try {
        saved = JSON.parse(last) as SavedJson;
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
