// A client that connects the moment the broker listens (a service restarting next to the gateway, a client
// reconnecting every 100 ms) is let in once the gateway has published this run's bridge/state and subscribed its
// API: its first request is answered and it never reads the last run's "online". Through the real CLI in a child
// process, as an operator runs it (its modules load as the gateway starts, which is when the gap was widest).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../upstream/mosquitto.js';
import { type GatewayChild, spawnGateway } from './gateway-child.js';

/** Connects as soon as something listens on the port: tries every 5 ms, for at most 20 s. */
async function connectEarly(port: number): Promise<MqttClient> {
  const deadline = Date.now() + 20_000;
  for (let attempt = 0; attempt < 4000 && Date.now() < deadline; attempt++) {
    try {
      return await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 10_000 });
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 5)); // nothing listens yet: there is no event to await
    }
  }
  throw new Error(`nothing listened on port ${port} within 20 s`);
}

describe('a client that connects while the gateway starts', () => {
  let child: GatewayChild | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    child?.kill();
    await child?.exited;
    child = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("gets its first request answered and reads only this run's bridge/state", { timeout: 60_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'z2m-early-'));
    const port = await freePort();
    const config = join(dir, 'gateway.yaml');
    await writeFile(
      config,
      `gateway: { data_dir: ${join(dir, 'data')} }\n` +
        `broker: { listeners: [{ type: mqtt, host: 127.0.0.1, port: ${port} }], allow_anonymous: true }\n` +
        'http: { host: 127.0.0.1, port: 0 }\n' +
        'adapters: { coap: { enabled: false }, serial: { enabled: false }, ble: { enabled: false } }\n',
    );
    // Three starts: the first finds nothing retained, the later ones the "offline" of a clean stop.
    for (let run = 1; run <= 3; run++) {
      child = spawnGateway(['gateway/cli.ts', 'run', '--config', config]);
      const client = await connectEarly(port);
      const seen: string[] = [];
      const answered = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`run ${run}: no response in 10 s (seen: ${seen})`)), 10_000);
        client.on('message', (topic, payload) => {
          seen.push(`${topic.slice('zephyr2mqtt/bridge/'.length)} ${payload.toString()}`);
          if (!topic.endsWith('/response/health_check')) return;
          clearTimeout(timer);
          resolve();
        });
      });
      await client.subscribeAsync(['zephyr2mqtt/bridge/state', 'zephyr2mqtt/bridge/response/health_check']);
      await client.publishAsync('zephyr2mqtt/bridge/request/health_check', `{"transaction":${run}}`);
      await answered;
      expect(seen[0], `run ${run}`).toBe('state {"state":"online"}');
      expect(seen.at(-1), `run ${run}`).toMatch(
        new RegExp(`^response/health_check \\{"status":"ok".*"transaction":${run}\\}$`),
      );
      await client.endAsync();
      child.child.kill('SIGTERM');
      expect(await child.exited).toBe(0);
    }
  });
});
