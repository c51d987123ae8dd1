// Signals that arrive while the gateway is still starting: a stop waits for the start and then stops cleanly
// (offline states, lock released, exit 0), a SIGHUP reload is applied once started, a second stop exits at once.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type GatewayChild, spawnGateway } from './gateway-child.js';

const ENTRY = 'test/gateway/held-start-process.ts';

function configText(dir: string, devices = '  - { id: door, transport: test }'): string {
  return `gateway:
  data_dir: ${join(dir, 'data')}
broker:
  listeners:
    - { type: mqtt, host: 127.0.0.1, port: 0 }
  allow_anonymous: true
http:
  host: 127.0.0.1
  port: 0
adapters:
  coap: { enabled: false }
  serial: { enabled: false }
  ble: { enabled: false }
  test: { online_on_start: true }
devices:
${devices}
`;
}

describe('signals during start-up', { timeout: 60_000 }, () => {
  let dir = '';
  let config = '';
  let gw: GatewayChild | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'z2m-startsig-'));
    config = join(dir, 'gateway.yaml');
    await writeFile(config, configText(dir));
  });
  afterEach(async () => {
    gw?.kill();
    gw = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts the gateway and returns once its adapter's start() is held (broker listening, lock taken). */
  async function startHeld(env: NodeJS.ProcessEnv = {}): Promise<GatewayChild & { mqttUrl: string }> {
    gw = spawnGateway([ENTRY, config], env);
    const mqttUp = await gw.logLine('MQTT listener up');
    await gw.logLine('test adapter start held');
    expect(existsSync(join(dir, 'data', '.lock'))).toBe(true);
    return Object.assign(gw, { mqttUrl: `mqtt://127.0.0.1:${String(mqttUp.port)}` });
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} while starting: stops once started, publishes offline, releases the lock, exits 0`, async () => {
      const held = await startHeld();
      const client = await mqtt.connectAsync(held.mqttUrl, { reconnectPeriod: 0 });
      const seen: string[] = [];
      const bridgeOffline = new Promise<void>((resolve) =>
        client.on('message', (topic, payload) => {
          seen.push(`${topic} ${payload.toString()}`);
          if (topic === 'zephyr2mqtt/bridge/state' && payload.toString() === '{"state":"offline"}') resolve();
        }),
      );
      await client.subscribeAsync('zephyr2mqtt/+/availability', { qos: 1 });
      await client.subscribeAsync('zephyr2mqtt/bridge/state', { qos: 1 });
      held.child.kill(signal);
      expect(await held.logLine('stop requested during start-up; the gateway stops once it has started')).toMatchObject(
        { signal },
      );
      held.child.stdin?.write('go\n');
      await bridgeOffline;
      expect(await held.exited).toBe(0);
      client.end(true);
      await held.logLine('zephyr2mqtt started');
      await held.logLine('zephyr2mqtt stopped');
      expect(seen).toContain('zephyr2mqtt/door/availability {"state":"offline"}');
      expect(existsSync(join(dir, 'data', '.lock'))).toBe(false);
    });
  }

  it('SIGHUP while starting: logged, and the config is reloaded once started', async () => {
    const held = await startHeld();
    await writeFile(config, configText(dir, '  - { id: door, transport: test }\n  - { id: window, transport: test }'));
    held.child.kill('SIGHUP');
    await held.logLine('reload requested during start-up; the config is reloaded once started');
    held.child.stdin?.write('go\n');
    const reloaded = await held.logLine('config reloaded');
    expect(reloaded).toMatchObject({ source: 'SIGHUP', added: ['window'] });
    held.child.kill('SIGTERM');
    expect(await held.exited).toBe(0);
    expect(existsSync(join(dir, 'data', '.lock'))).toBe(false);
  });

  it('a second stop signal while starting exits at once with 1', async () => {
    const held = await startHeld();
    held.child.kill('SIGTERM');
    await held.logLine('stop requested during start-up; the gateway stops once it has started');
    held.child.kill('SIGINT');
    expect(await held.exited).toBe(1);
    await held.logLine('second stop signal during start-up, exiting without a clean stop');
  });

  it('warns about LOG_LEVELS entries it ignores', async () => {
    const held = await startHeld({ LOG_LEVELS: 'coap=loud,serial=WARN' });
    expect(await held.logLine('LOG_LEVELS entry ignored: write module=level, e.g. coap=debug')).toMatchObject({
      level: 40,
      entry: 'coap=loud',
    });
    expect(held.output()).not.toContain('"entry":"serial=WARN"');
  });
});
