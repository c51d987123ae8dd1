// The reader of the gateway's stdout going away (`zephyr2mqtt run | head`, a dead log shipper) must not end the
// gateway: the next log write fails with EPIPE, which is ignored.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayChild, spawnGateway } from './gateway-child.js';

describe('gateway stdout closed by its reader', { timeout: 60_000 }, () => {
  let dir = '';
  let gw: GatewayChild | undefined;
  afterEach(async () => {
    gw?.kill();
    gw = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps running and logging after stdout fails with EPIPE, and stops cleanly', async () => {
    dir = await mkdtemp(join(tmpdir(), 'z2m-epipe-'));
    const config = join(dir, 'gateway.yaml');
    await writeFile(
      config,
      `gateway: { data_dir: ${join(dir, 'data')} }
broker:
  listeners: [{ type: mqtt, host: 127.0.0.1, port: 0 }]
  allow_anonymous: true
http: { host: 127.0.0.1, port: 0 }
adapters: { coap: { enabled: false }, serial: { enabled: false }, ble: { enabled: false } }
devices: []
`,
    );
    const child = spawnGateway(['gateway/cli.ts', 'run', '--config', config]);
    gw = child;
    const mqttUp = await child.logLine('MQTT listener up');
    const httpUp = await child.logLine('HTTP listener up');
    await child.logLine('zephyr2mqtt started');
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${String(mqttUp.port)}`, { reconnectPeriod: 0 });
    let reloads = 0;
    const wakers = new Set<() => void>();
    client.on('message', (_topic, payload) => {
      if (payload.toString().includes('"type":"config_reloaded"')) reloads++;
      for (const wake of wakers) wake();
    });
    await client.subscribeAsync('zephyr2mqtt/bridge/event', { qos: 1 });
    const reloaded = (count: number) =>
      Promise.race([
        new Promise<void>((resolve) => {
          const wake = () => {
            if (reloads < count) return;
            wakers.delete(wake);
            resolve();
          };
          wakers.add(wake);
          wake();
        }),
        child.exited.then((code) => {
          throw new Error(`gateway exited (${code}):\n${child.output()}`);
        }),
      ]);

    child.child.stdout?.destroy();
    // Each reload logs "config reloaded" (to the closed pipe) before it publishes its event.
    child.child.kill('SIGHUP');
    await reloaded(1);
    child.child.kill('SIGHUP');
    await reloaded(2);
    const health = await fetch(`http://127.0.0.1:${String(httpUp.port)}/healthz`);
    expect(health.status).toBe(200);
    client.end(true);
    child.child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    expect(child.output()).not.toContain('EPIPE');
  });
});
