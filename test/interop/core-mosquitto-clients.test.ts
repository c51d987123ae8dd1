// Interop: Debian's mosquitto_pub / mosquitto_sub (package mosquitto-clients) use the gateway's topic API:
// bridge requests with transaction ids, retained bridge topics, device commands and their errors.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

const INSTALL = 'apt-get install mosquitto-clients (or run test/interop/run.sh)';

function pub(port: number, topic: string, message: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'mosquitto_pub',
      ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', topic, '-m', message],
      { timeout: 10_000 },
      (err) => {
        if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT')
          reject(new Error(`mosquitto_pub is missing: ${INSTALL}`));
        else if (err) reject(err);
        else resolve();
      },
    );
  });
}

/** mosquitto_sub for `count` messages; resolves once its SUBACK arrived so a following publish is not missed. */
function sub(port: number, topic: string, count: number): Promise<{ proc: ChildProcess; lines: Promise<string[]> }> {
  return new Promise((resolve, reject) => {
    const args = ['-oL', 'mosquitto_sub', '-d', '-h', '127.0.0.1', '-p', String(port), '-q', '1', '-v', '-t', topic];
    const proc = spawn('stdbuf', [...args, '-C', String(count), '-W', '15']);
    let out = '';
    const lines = new Promise<string[]>((res) =>
      proc.on('close', () => res(out.split('\n').filter((l) => l.startsWith(topic.split('/')[0] ?? '')))),
    );
    const timer = setTimeout(() => {
      proc.kill();
      reject(new Error(`mosquitto_sub never got a SUBACK: ${out}`));
    }, 10_000);
    proc.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`mosquitto_sub failed to start (${err.message}): ${INSTALL}`));
    });
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('received SUBACK')) {
        clearTimeout(timer);
        resolve({ proc, lines });
      }
    });
  });
}

describe('topic API with mosquitto clients', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  async function start(): Promise<{ gw: TestGateway; port: number }> {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({ devices: [{ id: 'lamp', transport: 'test' }] }, { adapterModules: [adapter.module] });
    return { gw, port: Number(new URL(gw.mqttUrl).port) };
  }

  it('answers a bridge request on bridge/response with the transaction echoed', async () => {
    const { port } = await start();
    const s = await sub(port, 'zephyr2mqtt/bridge/response/permit_join', 1);
    await pub(port, 'zephyr2mqtt/bridge/request/permit_join', '{"value":60,"transaction":"mq-1"}');
    const [line] = await s.lines;
    expect(line).toBe(
      'zephyr2mqtt/bridge/response/permit_join {"status":"ok","data":{"value":true,"time":60},"transaction":"mq-1"}',
    );
  });

  it('serves the retained bridge topics to a fresh subscriber', async () => {
    const { port } = await start();
    const s = await sub(port, 'zephyr2mqtt/bridge/+', 3);
    const lines = await s.lines;
    const byTopic = new Map(lines.map((l) => [l.slice(0, l.indexOf(' ')), JSON.parse(l.slice(l.indexOf(' ') + 1))]));
    expect(byTopic.get('zephyr2mqtt/bridge/state')).toEqual({ state: 'online' });
    expect(byTopic.get('zephyr2mqtt/bridge/devices')).toMatchObject([{ id: 'lamp', transport: 'test' }]);
    expect(byTopic.get('zephyr2mqtt/bridge/info')).toMatchObject({ gateway_id: 'test-gw', devices: 1 });
  });

  it('routes /set to the device and reports malformed commands on /set/error', async () => {
    const { port } = await start();
    const state = await sub(port, 'zephyr2mqtt/lamp', 1);
    await pub(port, 'zephyr2mqtt/lamp/set', '{"state":"ON"}');
    const [stateLine] = await state.lines;
    expect(JSON.parse(stateLine?.slice('zephyr2mqtt/lamp '.length) ?? '{}')).toMatchObject({ state: 'ON' });
    // Zigbee2MQTT's plain-text state word is {"state": ...}; other plain text is refused.
    const off = await sub(port, 'zephyr2mqtt/lamp', 2);
    await pub(port, 'zephyr2mqtt/lamp/set', 'OFF');
    const offLines = await off.lines;
    expect(JSON.parse(offLines[1]?.slice('zephyr2mqtt/lamp '.length) ?? '{}')).toMatchObject({ state: 'OFF' });
    const errors = await sub(port, 'zephyr2mqtt/lamp/set/error', 1);
    await pub(port, 'zephyr2mqtt/lamp/set', 'BRIGHT');
    expect(await errors.lines).toEqual([
      'zephyr2mqtt/lamp/set/error {"error":"payload is not valid JSON","payload":"BRIGHT"}',
    ]);
  });
});
