// Names taken from dashboard URLs become MQTT topic levels: wildcards, NUL and broken percent-encoding are refused.
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger, collect, roundTrip } from '../broker/helpers.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { postJson } from './helpers.js';

describe('dashboard API paths', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  async function watchTopics(): Promise<{ client: MqttClient; topics: () => string[] }> {
    const client = await gw!.connect();
    await client.subscribeAsync('zephyr2mqtt/#', { qos: 1 });
    const seen = collect(client);
    return { client, topics: () => seen.messages.map((m) => m.topic) };
  }

  it('answers 400 and publishes nothing for device ids and request names holding +, #, NUL or /', async () => {
    gw = await startTestGateway();
    const watch = await watchTopics();
    const paths = [
      '/api/devices/%2B/set',
      '/api/devices/%23/set',
      '/api/devices/a%00b/set',
      '/api/devices/a%2Fb/set',
      '/api/request/device/+',
      '/api/request/device/a+b',
    ];
    for (const path of paths) {
      const res = await postJson(`${gw.httpUrl}${path}`, { x: 1 });
      expect([path, res.status]).toEqual([path, 400]);
    }
    await roundTrip(watch.client, 'zephyr2mqtt/sync');
    expect(watch.topics().filter((t) => /[+#\0]|\/a\/b\//.test(t))).toEqual([]);
  });

  it('answers 400 to a body nested deeper than any request needs, and serves the next one', async () => {
    const log = captureLogger();
    gw = await startTestGateway({}, { logger: log.logger });
    const body = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const deep = await fetch(`${gw.httpUrl}/api/request/permit_join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(deep.status).toBe(400);
    expect(log.lines.filter((l) => l.msg === 'http handler failed')).toEqual([]);
    expect((await postJson(`${gw.httpUrl}/api/request/permit_join`, { value: false })).status).toBe(200);
  });

  it('answers 400 for such device ids on reads too', async () => {
    gw = await startTestGateway();
    for (const id of ['%2B', '%23', 'a%00b', 'a%2Fb']) {
      const res = await fetch(`${gw.httpUrl}/api/devices/${id}`);
      expect([id, res.status]).toEqual([id, 400]);
    }
    expect((await fetch(`${gw.httpUrl}/api/devices/unknown-device`)).status).not.toBe(400);
  });

  it('answers 400, not 500, for malformed percent-encoding', async () => {
    const log = captureLogger();
    gw = await startTestGateway({}, { logger: log.logger });
    expect((await fetch(`${gw.httpUrl}/api/devices/%E0%A4%A`)).status).toBe(400);
    expect((await postJson(`${gw.httpUrl}/api/devices/%E0%A4%A/set`, { x: 1 })).status).toBe(400);
    expect(log.lines.filter((l) => l.level >= 50)).toEqual([]);
  });
});
