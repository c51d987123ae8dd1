// An upstream whose ACL refuses the link state topic (Mosquitto, MQTT 5: PUBACK 0x87). Mosquitto with
// `max_queued_messages 0` (as in test/upstream/mosquitto.ts) also closes the connection after each refused publish;
// with an `in` mapping's SUBSCRIBE still unanswered then, the close looked like a refused subscription, and the
// bridge published the state, was closed on and reconnected for good, never sending its queue.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { observe } from '../upstream/brokers.js';
import { tempDataDir } from '../upstream/local-bridge.js';
import { startMosquittoBridge } from '../upstream/mosquitto-bridge.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('MQTT 5: a link state the upstream refuses is given up and reported; the queue is sent and commands come in', async () => {
  const aclDir = await tempDataDir(cleanups, 'z2m-state-refused-acl-');
  const acl = join(aclDir, 'acl');
  await writeFile(acl, 'topic readwrite gw1/#\ntopic deny gw1/bridge/state\n');
  const { mosquitto, local, bridge, waitForEvent } = await startMosquittoBridge(cleanups, {
    prefix: 'z2m-state-refused-',
    extra: `acl_file ${acl}`,
    bridge: {
      topics: [
        { pattern: '#', direction: 'out', qos: 1 },
        { pattern: '+/set', direction: 'in', qos: 1 },
      ],
    },
  });
  const up = await observe(mosquitto.url, 'gw1/#', { protocolVersion: 5 });
  cleanups.push(() => up.close());
  const down = await observe(local.url, 'zephyr2mqtt/+/set');
  cleanups.push(() => down.close());

  await bridge.start();
  for (let i = 0; i < 5; i++) await local.broker.publish('zephyr2mqtt/sensor', `m${i}`, { qos: 1 });
  await waitForEvent('connected');
  await up.waitFor((s) => s.filter((m) => m.topic === 'gw1/sensor').length === 5, 15_000, 'the queued messages');
  expect(up.seen.filter((m) => m.topic === 'gw1/sensor').map((m) => m.payload)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  // The subscription is in place on a connection that stays.
  await up.client.publishAsync('gw1/lamp/set', 'on', { qos: 1 });
  await down.waitFor((s) => s.some((m) => m.payload === 'on'), 15_000, 'the command');
  const status = bridge.status() as { connected: boolean; last_error: string | null; messages: { reconnects: number } };
  expect(status.connected).toBe(true);
  // Refused with 0x87, or (the refusal lost with the reset) closed on twice: either way given up, and said so.
  expect(status.last_error).toMatch(
    /link state (publish )?on gw1\/bridge\/state.*the link state is not published for now/,
  );
  expect(status.messages.reconnects).toBeLessThanOrEqual(2);
});
