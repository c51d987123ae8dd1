// Mosquitto's `message_size_limit` is not announced in the CONNACK (unlike `max_packet_size`): it answers a larger
// MQTT 5 publish with PUBACK or PUBREC 0x95 Packet too large, a code MQTT 5 does not allow there and mqtt.js cannot
// parse. Such a message must be dropped as refused, not stay in flight and stop the bridge once the window is full.
import { afterEach, describe, expect, it } from 'vitest';
import { observe } from '../upstream/brokers.js';
import { startMosquittoBridge } from '../upstream/mosquitto-bridge.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('messages over Mosquitto message_size_limit (MQTT 5)', () => {
  for (const qos of [1, 2] as const) {
    it(`QoS ${qos}: more of them than the in-flight window are dropped as rejected; the rest flows on in order`, async () => {
      const { mosquitto, local, bridge, waitForEvent, registry } = await startMosquittoBridge(cleanups, {
        prefix: 'z2m-size-limit-',
        extra: 'message_size_limit 1000',
        bridge: { max_inflight: 4, topics: [{ pattern: '#', direction: 'out', qos }] },
      });
      const up = await observe(mosquitto.url, 'gw1/#', { protocolVersion: 5 });
      cleanups.push(() => up.close());
      await bridge.start();
      await waitForEvent('connected');

      for (let i = 0; i < 10; i++) {
        await local.broker.publish('zephyr2mqtt/big', Buffer.alloc(2000, 0x61), { qos: 1 });
        await local.broker.publish('zephyr2mqtt/small', `s${i}`, { qos: 1 });
      }
      await up.waitFor((s) => s.filter((m) => m.topic === 'gw1/small').length === 10, 10_000, '10 small messages');
      expect(up.seen.filter((m) => m.topic === 'gw1/small').map((m) => m.payload)).toEqual(
        Array.from({ length: 10 }, (_, i) => `s${i}`),
      );
      expect(await waitForEvent('queue_dropped')).toMatchObject({
        reason: 'rejected',
        upstream_error: 'Publish error: Packet too large (0x95)',
      });
      type Status = { dropped: { rejected: number }; queue: { depth: number }; last_error: string | null };
      await expect.poll(() => (bridge.status() as Status).queue.depth, { timeout: 5000 }).toBe(0);
      expect(bridge.status()).toMatchObject({ dropped: { rejected: 10 }, last_error: null });
      expect(await registry.metrics()).toMatch(/zephyr2mqtt_upstream_messages_dropped_total\{reason="rejected"\} 10/);
      expect(up.seen.some((m) => m.topic === 'gw1/big')).toBe(false);
    });
  }
});
