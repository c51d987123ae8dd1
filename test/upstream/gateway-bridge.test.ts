// Black-box through the real gateway: the bridge configured in the gateway config, topics, status and /metrics.
import { afterEach, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type InProcessUpstream, observe, startUpstreamAedes } from './brokers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('the gateway bridges its topics upstream, reports the link upstream, in its status and on /metrics', async () => {
  const upstream: InProcessUpstream = await startUpstreamAedes();
  cleanups.push(() => upstream.close());
  const obs = await observe(upstream.url, 'test-gw/#');
  cleanups.push(() => obs.close());
  const gw: TestGateway = await startTestGateway({
    bridge: { enabled: true, url: upstream.url, protocol_version: '3.1.1', reconnect_min: 0.05 },
  });
  cleanups.push(() => gw.stop());
  const client = await gw.connect();
  // The link's retained state upstream says it is up.
  await obs.waitFor((s) => s.some((m) => m.topic === 'test-gw/bridge/state' && m.payload === '{"state":"online"}'));
  await client.publishAsync(`${gw.baseTopic}/probe`, '{"hello":1}', { qos: 1 });
  await obs.waitFor((s) => s.some((m) => m.topic === 'test-gw/probe' && m.payload === '{"hello":1}'));
  const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
  expect(metrics).toMatch(/zephyr2mqtt_upstream_connected 1/);
  expect(metrics).toMatch(/zephyr2mqtt_upstream_messages_acked_total [1-9]/);
  expect(gw.gateway.upstreamStatus()).toMatchObject({ connected: true, url: upstream.url });
  // /readyz shows the link (informational: readiness does not depend on it).
  expect(await (await fetch(`${gw.httpUrl}/readyz`)).json()).toMatchObject({
    status: 'ready',
    bridge: { state: 'connected', last_error: null, queue_depth: 0 },
  });
  // bridge/info carries the link's status for apps and the dashboard.
  const info = await gw.waitForMessage<{ upstream?: { connected?: boolean } }>(
    client,
    `${gw.baseTopic}/bridge/info`,
    (m) => m.upstream?.connected === true,
  );
  expect(info.upstream).toMatchObject({ connected: true });
});

it('a new or switched upstream gets the local retained messages at once, not at each device next report', async () => {
  const first = await startUpstreamAedes();
  cleanups.push(() => first.close());
  const topics = [
    { pattern: '#', direction: 'out' as const, qos: 1 as const },
    { pattern: '+/set', direction: 'in' as const, qos: 1 as const },
  ];
  const gw: TestGateway = await startTestGateway({
    bridge: { enabled: true, url: first.url, protocol_version: '3.1.1', reconnect_min: 0.05, topics },
  });
  cleanups.push(() => gw.stop());
  const client = await gw.connect();
  await client.publishAsync(`${gw.baseTopic}/kitchen`, '{"t":21}', { qos: 1, retain: true });
  await client.publishAsync(`${gw.baseTopic}/kitchen/availability`, '{"state":"online"}', { qos: 1, retain: true });
  await client.publishAsync(`${gw.baseTopic}/hall`, '{"t":19}', { qos: 1 });
  // A retained command (an `in` topic too): going back up, it would echo.
  await client.publishAsync(`${gw.baseTopic}/kitchen/set`, '{"led":true}', { qos: 1, retain: true });

  const second = await startUpstreamAedes();
  cleanups.push(() => second.close());
  const obs = await observe(second.url, 'test-gw/#');
  cleanups.push(() => obs.close());
  const options = { options: { bridge: { url: second.url } } };
  expect((await gw.request(client, 'options', options)).status).toBe('ok');
  await obs.waitFor((s) => s.some((m) => m.topic === 'test-gw/kitchen/availability'));
  await obs.waitFor((s) => s.some((m) => m.topic === 'test-gw/bridge/state'));
  const kitchen = obs.seen.filter((m) => m.topic === 'test-gw/kitchen');
  expect(kitchen.map((m) => m.payload)).toEqual(['{"t":21}']);
  // Retained at the new broker: a subscriber that comes later gets it too.
  const late = await observe(second.url, 'test-gw/kitchen');
  cleanups.push(() => late.close());
  await late.waitFor((s) => s.some((m) => m.payload === '{"t":21}' && m.retain));
  expect(obs.seen.map((m) => m.topic)).not.toContain('test-gw/hall');
  expect(obs.seen.map((m) => m.topic)).not.toContain('test-gw/kitchen/set');
});
