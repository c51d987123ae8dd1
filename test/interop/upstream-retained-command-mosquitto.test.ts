// A retained command on an upstream `in` topic, with Mosquitto and a persistent session: the gateway gets it on
// the first connection only, not again on each reconnect (MQTT 5: Retain Handling 1; MQTT 3.1.1: the kept session's
// subscriptions are not sent again).
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type UpstreamConfigInput, upstreamConfigSchema } from '../../gateway/upstream/config.js';
import { observe } from '../upstream/brokers.js';
import { startLocalBridge, tempDataDir } from '../upstream/local-bridge.js';
import { Mosquitto } from '../upstream/mosquitto.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Ports 21820-21829, one per test. */
let nextPort = 21820;

describe('a retained command on an upstream `in` topic (Mosquitto, persistent session)', () => {
  for (const version of ['5', '3.1.1'] as const) {
    it(`MQTT ${version}: is executed once over two reconnects`, async () => {
      const dir = await tempDataDir(cleanups, 'z2m-retained-');
      const mosquitto = new Mosquitto(dir);
      await mosquitto.start(nextPort++);
      cleanups.push(() => mosquitto.stop());
      const commander = await mqtt.connectAsync(mosquitto.url, { reconnectPeriod: 0 });
      await commander.publishAsync('gw1/lamp/set', '{"state":"TOGGLE"}', { qos: 1, retain: true });
      await commander.endAsync();

      const config = (keepalive: number): UpstreamConfigInput => ({
        url: mosquitto.url,
        protocol_version: version,
        clean_session: false,
        keepalive,
        topics: [
          { pattern: '+/set', direction: 'in', qos: 1 },
          { pattern: 'ping', direction: 'out', qos: 1 },
        ],
      });
      const { local, bridge, events, waitForEvent } = await startLocalBridge(cleanups, dir, config(30));
      const down = await observe(local.url, 'zephyr2mqtt/+/set');
      cleanups.push(() => down.close());
      const up = await observe(mosquitto.url, 'gw1/ping', { protocolVersion: 5 });
      cleanups.push(() => up.close());
      /** A message out and one back in over the bridge's connection: anything the upstream sent in answer to the
       * connection's SUBSCRIBE came before it. */
      const roundTrip = async (n: number) => {
        await local.broker.publish('zephyr2mqtt/ping', `p${n}`, { qos: 1 });
        await up.waitFor((s) => s.some((m) => m.payload === `p${n}`), 10_000, `ping ${n}`);
        await up.client.publishAsync('gw1/pong/set', `p${n}`, { qos: 1 });
        await down.waitFor((s) => s.some((m) => m.payload === `p${n}`), 10_000, `pong ${n}`);
      };

      await bridge.start();
      await waitForEvent('connected');
      await roundTrip(0);
      for (const n of [1, 2]) {
        const since = events.length;
        // A new connection setting: the bridge reconnects at once, to the same session.
        await bridge.reconfigure(upstreamConfigSchema.parse({ enabled: true, ...config(30 + n) }));
        await waitForEvent('connected', 10_000, since);
        await roundTrip(n);
      }
      expect(bridge.status().messages).toMatchObject({ reconnects: 2 });
      expect(down.seen.filter((m) => m.topic === 'zephyr2mqtt/lamp/set').map((m) => m.payload)).toEqual([
        '{"state":"TOGGLE"}',
      ]);
    });
  }
});
