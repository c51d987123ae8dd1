// The set-up of the interop tests that bridge to Mosquitto: Mosquitto (with extra config lines), the local broker
// and a bridge to Mosquitto (MQTT 5 unless the config says otherwise), in a fresh directory.
import type { makeBridge } from './brokers.js';
import { startLocalBridge, tempDataDir } from './local-bridge.js';
import { Mosquitto } from './mosquitto.js';

export interface MosquittoBridgeOptions {
  /** Temp directory name prefix. */
  prefix?: string;
  /** Lines added to mosquitto.conf. */
  extra?: string;
  bridge?: Parameters<typeof makeBridge>[2];
  /** `mqtts` for a TLS listener given in `extra`. */
  scheme?: string;
}

/** Everything started is stopped by `cleanups`, in reverse order. */
export async function startMosquittoBridge(cleanups: Array<() => Promise<unknown>>, opts: MosquittoBridgeOptions = {}) {
  const dir = await tempDataDir(cleanups, opts.prefix ?? 'z2m-interop-');
  const mosquitto = new Mosquitto(dir, opts.extra ?? '');
  await mosquitto.start();
  cleanups.push(() => mosquitto.stop());
  const b = await startLocalBridge(cleanups, dir, {
    url: `${opts.scheme ?? 'mqtt'}://127.0.0.1:${mosquitto.port}`,
    protocol_version: '5',
    ...opts.bridge,
  });
  return { dir, mosquitto, ...b };
}
