// The gateway as a process: SIGTERM shutdown with offline states, SIGHUP reload good and bad, a start that
// fails (busy port, invalid config) with a non-zero exit and a clear message.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { filterMatchesTopic as topicMatches } from '../../gateway/broker/topic-filter.js';
import { type ChildGateway, CLI, runCli, startChildGateway } from '../helpers/child-gateway.js';

function configText(dir: string, opts: { mqttPort?: number; httpPort?: number; devices?: string } = {}): string {
  return `# lifecycle test config
gateway:
  id: proc-test
  data_dir: ${join(dir, 'data')}
broker:
  listeners:
    - { type: mqtt, host: 127.0.0.1, port: ${opts.mqttPort ?? 0} }
  allow_anonymous: true
http:
  host: 127.0.0.1
  port: ${opts.httpPort ?? 0}
adapters:
  coap: { enabled: false }
  serial: { enabled: false }
  ble: { enabled: false }
  test: { online_on_start: true }
devices:
${opts.devices ?? '  - { id: door, transport: test }'}
`;
}

async function collect(url: string, filter: string) {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  const messages: Array<{ topic: string; payload: string }> = [];
  const waiters: Array<{ pred: (m: { topic: string; payload: string }) => boolean; resolve: () => void }> = [];
  client.on('message', (topic, payload) => {
    const m = { topic, payload: payload.toString() };
    messages.push(m);
    for (const w of [...waiters]) if (w.pred(m)) w.resolve();
  });
  await client.subscribeAsync(filter, { qos: 1 });
  const until = (pred: (m: { topic: string; payload: string }) => boolean, timeoutMs = 5000) =>
    new Promise<void>((resolve, reject) => {
      if (messages.some(pred)) return resolve();
      const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms`)), timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      waiters.push({ pred, resolve: done });
    });
  return { client, messages, until };
}

describe('gateway process lifecycle', { timeout: 60_000 }, () => {
  let dir = '';
  let gw: ChildGateway | undefined;
  const servers: Server[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'z2m-proc-'));
  });
  afterEach(async () => {
    gw?.kill();
    gw = undefined;
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs the CLI gateway, no devices and no test adapter, on a config whose `which` port another listener holds. */
  async function runWithPortTaken(which: 'mqttPort' | 'httpPort') {
    const blocker = createServer();
    servers.push(blocker);
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const config = join(dir, 'gateway.yaml');
    await writeFile(
      config,
      configText(dir, { [which]: port })
        .replace('  test: { online_on_start: true }\n', '')
        .replace(/devices:\n.*\n/, 'devices: []\n'),
    );
    return { port, result: await runCli(['run', '--config', config]) };
  }

  it('SIGTERM publishes offline states, closes listeners and exits 0 within 10 s', async () => {
    const config = join(dir, 'gateway.yaml');
    await writeFile(config, configText(dir));
    gw = await startChildGateway(config);
    const watch = await collect(gw.mqttUrl, 'zephyr2mqtt/#');
    await watch.until((m) => m.topic === 'zephyr2mqtt/door/availability' && m.payload === '{"state":"online"}');
    const started = Date.now();
    gw.child.kill('SIGTERM');
    await watch.until((m) => m.topic === 'zephyr2mqtt/door/availability' && m.payload === '{"state":"offline"}');
    await watch.until((m) => m.topic === 'zephyr2mqtt/bridge/state' && m.payload === '{"state":"offline"}');
    expect(await gw.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect(fetch(`${gw.httpUrl}/healthz`)).rejects.toThrow();
    watch.client.end(true);
  });

  it('SIGHUP applies a valid config without dropping clients and rejects an invalid one', async () => {
    const config = join(dir, 'gateway.yaml');
    await writeFile(config, configText(dir));
    gw = await startChildGateway(config);
    // Keep the same ports on reload (they need a restart anyway).
    const httpPort = Number(new URL(gw.httpUrl).port);
    const mqttPort = Number(new URL(gw.mqttUrl).port);
    const watch = await collect(gw.mqttUrl, 'zephyr2mqtt/bridge/event');
    let closed = false;
    watch.client.on('close', () => {
      closed = true;
    });

    await writeFile(
      config,
      configText(dir, {
        httpPort,
        mqttPort,
        devices: '  - { id: door, transport: test }\n  - { id: window, transport: test }',
      }),
    );
    gw.child.kill('SIGHUP');
    await watch.until((m) => m.payload.includes('"type":"device_joined"') && m.payload.includes('"window"'));
    await watch.until((m) => m.payload.includes('"type":"config_reloaded"'));

    const invalid = `${configText(dir, { httpPort, mqttPort })}  - { id: Bad Id, transport: test }\n`;
    const badLine = invalid.split('\n').findIndex((l) => l.includes('Bad Id')) + 1;
    await writeFile(config, invalid);
    gw.child.kill('SIGHUP');
    await watch.until((m) => m.payload.includes('"type":"config_error"'));
    const error = JSON.parse(watch.messages.find((m) => m.payload.includes('config_error'))?.payload ?? '{}');
    expect(error.data.source).toBe('SIGHUP');
    expect(error.data.error).toContain(`${config}:${badLine}:7 devices[1].id:`);
    expect(error.data.issues[0]).toMatchObject({ path: 'devices[1].id', line: badLine, column: 7 });
    // Still running on the previous config, same client connection.
    const devices = await fetch(`${gw.httpUrl}/readyz`);
    expect(devices.status).toBe(200);
    expect(closed).toBe(false);
    const list = await collect(gw.mqttUrl, 'zephyr2mqtt/bridge/devices');
    // bridge/devices is coalesced: wait for the list that has the device the reload added.
    await list.until((m) => topicMatches('zephyr2mqtt/bridge/devices', m.topic) && m.payload.includes('"window"'));
    const latest = list.messages.at(-1)?.payload ?? '[]';
    expect(JSON.parse(latest).map((d: { id: string }) => d.id)).toEqual(['door', 'window']);
    watch.client.end(true);
    list.client.end(true);
  });

  it('fails to start with exit 1 and a clear message when the MQTT port is taken', async () => {
    const { port, result } = await runWithPortTaken('mqttPort');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('zephyr2mqtt: cannot start:');
    expect(result.stderr).toMatch(
      new RegExp(`broker\\.listeners\\[0\\] \\(mqtt\\) port ${port} on 127\\.0\\.0\\.1: in use by another program`),
    );
  });

  it('fails to start with exit 1 when the HTTP port is taken, leaving nothing bound', async () => {
    const { port, result } = await runWithPortTaken('httpPort');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `zephyr2mqtt: cannot start: http.port ${port} on 127.0.0.1: in use by another program (stop it or choose another port)\n`,
    );
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('fails to start with exit 2 on an invalid config, naming the problem', async () => {
    const config = join(dir, 'gateway.yaml');
    await writeFile(config, 'gateway:\n  base_topik: x\n');
    const result = await runCli(['run', '--config', config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${config}:2:3 gateway.base_topik: unknown key "base_topik" (hint: did you mean "base_topic"?)`,
    );
    expect(await readFile(config, 'utf8')).toBe('gateway:\n  base_topik: x\n');
  });

  it('`zephyr2mqtt health` exits 0 against a ready gateway and 1 when nothing answers', async () => {
    const config = join(dir, 'gateway.yaml');
    await writeFile(
      config,
      configText(dir)
        .replace('  test: { online_on_start: true }\n', '')
        .replace(/devices:\n.*\n/, 'devices: []\n'),
    );
    gw = await startChildGateway(config, CLI);
    const ok = await runCli(['health', '--url', gw.httpUrl]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'ready' });
    gw.child.kill('SIGINT');
    expect(await gw.exited).toBe(0);
    const down = await runCli(['health', '--url', gw.httpUrl, '--timeout', '2000']);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('unhealthy:');
  });
});
