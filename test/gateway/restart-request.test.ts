// bridge/request/restart under `zephyr2mqtt run`: the answer first, then the gateway stops, reads the config file
// again and starts in the same process, so that restart-only settings take effect; without a process that can
// restart it (an embedded gateway) the request is refused.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type GatewayChild, spawnGateway } from './gateway-child.js';

/** A TCP port that was free a moment ago: the restarted gateway must listen where the first one did. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('bridge/request/restart', () => {
  let child: GatewayChild | undefined;
  let gw: TestGateway | undefined;
  afterEach(async () => {
    child?.kill();
    await child?.exited;
    child = undefined;
    await gw?.stop();
    gw = undefined;
  });

  /** Writes gateway.yaml in `dir` on a free MQTT port (`extra` YAML appended) and runs the CLI on it until started. */
  async function runOn(dir: string, extra = '') {
    const port = await freePort();
    const config = join(dir, 'gateway.yaml');
    await writeFile(
      config,
      `gateway: { id: first, data_dir: ${join(dir, 'data')} }\n` +
        `broker: { listeners: [{ type: mqtt, host: 127.0.0.1, port: ${port} }], allow_anonymous: true }\n` +
        'http: { enabled: false }\nadapters: { coap: { enabled: false }, serial: { enabled: false }, ble: { enabled: false } }\n' +
        extra,
    );
    const started = spawnGateway(['gateway/cli.ts', 'run', '--config', config]);
    child = started;
    await started.logLine('zephyr2mqtt started');
    return { config, port, child: started };
  }

  it('answers, restarts in the same process and applies restart-only settings', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'z2m-restart-'));
    try {
      const { config, port, child } = await runOn(dir);
      const pid = child.child.pid;
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 100 });
      await client.subscribeAsync('zephyr2mqtt/bridge/response/restart');
      const response = new Promise<Record<string, unknown>>((resolve) =>
        client.once('message', (_t, p) => resolve(JSON.parse(p.toString()) as Record<string, unknown>)),
      );
      await writeFile(config, (await readFile(config, 'utf8')).replace('id: first', 'id: second'));
      await client.publishAsync('zephyr2mqtt/bridge/request/restart', '{"transaction": 7}');
      expect(await response).toEqual({ status: 'ok', data: {}, transaction: 7 });
      await child.logLine('zephyr2mqtt restarted');
      expect(child.child.pid).toBe(pid);
      expect(child.child.exitCode).toBeNull();
      // The client reconnects to the new broker on the same port; the new gateway id is in force.
      const info = new Promise<Record<string, unknown>>((resolve) =>
        client.on('message', (t, p) => {
          if (t === 'zephyr2mqtt/bridge/info') resolve(JSON.parse(p.toString()) as Record<string, unknown>);
        }),
      );
      await client.subscribeAsync('zephyr2mqtt/bridge/info');
      expect(await info).toMatchObject({ gateway_id: 'second', restart_required: false });
      await client.endAsync();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is refused while the config file has problems, naming them; the gateway keeps running', {
    timeout: 60_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'z2m-restart-bad-'));
    try {
      const { config, port } = await runOn(dir, 'api:\n  availability_timeout: 600\n');
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
      await client.subscribeAsync('zephyr2mqtt/bridge/response/restart');
      const responses: Array<Record<string, unknown>> = [];
      const answered = (n: number) =>
        new Promise<void>((resolve) => {
          const check = () => responses.length >= n && resolve();
          client.on('message', (_t, p) => {
            responses.push(JSON.parse(p.toString()) as Record<string, unknown>);
            check();
          });
          check();
        });
      // Edited by hand, and badly: the restart the edit was meant for would start the old config again.
      await writeFile(
        config,
        (await readFile(config, 'utf8')).replace('id: first', 'id: second').replace('600', 'ten'),
      );
      await client.publishAsync('zephyr2mqtt/bridge/request/restart', '{"transaction": 1}');
      await answered(1);
      expect(responses[0]).toEqual({
        status: 'error',
        data: {},
        error:
          `not restarting: the config file has problems to fix first: ${config}:6:3 api.availability_timeout: ` +
          'expected number, got "ten" (hint: write a number, e.g. availability_timeout: 600)',
        transaction: 1,
      });
      // Still the same broker connection, still answering: nothing stopped.
      await client.subscribeAsync('zephyr2mqtt/bridge/response/health_check');
      await client.publishAsync('zephyr2mqtt/bridge/request/health_check', '{}');
      await answered(2);
      expect(responses[1]).toMatchObject({ status: 'ok', data: { healthy: true } });
      expect(client.connected).toBe(true);
      await client.endAsync();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is refused by a gateway that no process can restart', async () => {
    gw = await startTestGateway();
    const client = await gw.connect();
    expect(await gw.request(client, 'restart')).toMatchObject({
      status: 'error',
      error: 'this gateway cannot restart itself: it does not run under `zephyr2mqtt run`',
    });
  });
});
