// Black-box through the real gateway: broker state under gateway.data_dir survives a gateway restart.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('gateway restart keeps broker state', () => {
  let dataDir: string;
  let gw: TestGateway | undefined;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-gw-restart-'));
  });
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps client retained messages and a persistent session queue', async () => {
    gw = await startTestGateway({ gateway: { data_dir: dataDir } });
    const keeper = await gw.connect({ clientId: 'app-1', clean: false });
    await keeper.subscribeAsync('app/inbox/#', { qos: 1 });
    await keeper.endAsync();
    const pub = await gw.connect();
    await pub.publishAsync('app/config', '{"interval":30}', { qos: 1, retain: true });
    await pub.publishAsync('app/inbox/1', '{"n":1}', { qos: 1 });
    await gw.stop();

    gw = await startTestGateway({ gateway: { data_dir: dataDir } });
    // Listen before CONNACK and send no SUBSCRIBE: the session and its queue come back from disk.
    const back = mqtt.connect(gw.mqttUrl, { clientId: 'app-1', clean: false, reconnectPeriod: 0 });
    const queued = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('queued message not delivered')), 5000);
      back.once('message', (topic, payload) => {
        clearTimeout(timer);
        resolve(`${topic} ${payload.toString()}`);
      });
    });
    expect(await queued).toBe('app/inbox/1 {"n":1}');
    await back.endAsync();
    const reader = await gw.connect();
    expect(await gw.waitForMessage(reader, 'app/config')).toEqual({ interval: 30 });
    // The gateway's own retained state is there too, and current.
    expect(await gw.waitForMessage(reader, 'zephyr2mqtt/bridge/state')).toEqual({ state: 'online' });
  });
});
