// A local topic the upstream broker would close the connection on (a control character: Mosquitto refuses it) is
// not queued for the upstream: the bridge counts it as a rejected drop and says why, and the link stays up for the
// messages after it.
import { afterEach, expect, it } from 'vitest';
import { sampleValue } from '../gateway/prom-text.js';
import { startTestGateway } from '../helpers/gateway.js';
import { observe, startUpstreamAedes } from './brokers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('counts and reports a local message whose upstream topic the upstream would refuse, and sends the next one', async () => {
  const upstream = await startUpstreamAedes();
  cleanups.push(() => upstream.close());
  const obs = await observe(upstream.url, 'test-gw/#');
  cleanups.push(() => obs.close());
  const gw = await startTestGateway({
    bridge: { enabled: true, url: upstream.url, protocol_version: '3.1.1', reconnect_min: 0.05 },
  });
  cleanups.push(() => gw.stop());
  const client = await gw.connect();
  await gw.waitForMessage<{ upstream?: { connected?: boolean } }>(
    client,
    `${gw.baseTopic}/bridge/info`,
    (m) => m.upstream?.connected === true,
  );

  await client.publishAsync(`${gw.baseTopic}/bell\u0007/state`, '{"n":1}', { qos: 1 });
  await client.publishAsync(`${gw.baseTopic}/probe`, '{"n":2}', { qos: 1 });
  await obs.waitFor((s) => s.some((m) => m.payload === '{"n":2}'));

  const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
  expect(sampleValue(metrics, 'zephyr2mqtt_upstream_messages_dropped_total', { reason: 'rejected' })).toBe(1);
  expect(obs.seen.some((m) => m.topic.includes('\u0007'))).toBe(false);
});
