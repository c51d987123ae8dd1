// Turning the bridge off and on by reloads: its Prometheus counters keep counting (a counter never goes back within
// a process) and agree with its status, and the first connection after turning it on is not a reconnect.
import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { parseExposition, sampleValue } from '../gateway/prom-text.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type InProcessUpstream, observe, startUpstreamAedes } from './brokers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Info = { upstream?: { connected?: boolean; messages?: { sent: number; acked: number; reconnects: number } } };

async function setBridgeEnabled(gw: TestGateway, enabled: boolean): Promise<void> {
  const doc = parseDocument(await readFile(gw.configPath, 'utf8'));
  doc.setIn(['bridge', 'enabled'], enabled);
  await writeFile(gw.configPath, doc.toString());
  await gw.gateway.reload('test');
}

it('keeps the upstream counters across bridge.enabled off and on, and counts no reconnect for it', async () => {
  const upstream: InProcessUpstream = await startUpstreamAedes();
  cleanups.push(() => upstream.close());
  const obs = await observe(upstream.url, 'test-gw/probe');
  cleanups.push(() => obs.close());
  const gw = await startTestGateway({
    bridge: { enabled: true, url: upstream.url, protocol_version: '3.1.1', reconnect_min: 0.05 },
  });
  cleanups.push(() => gw.stop());
  const client = await gw.connect();
  const scrape = async () => (await fetch(`${gw.httpUrl}/metrics`)).text();
  const sendProbe = async (n: number) => {
    await client.publishAsync(`${gw.baseTopic}/probe`, `{"n":${n}}`, { qos: 1 });
    await obs.waitFor((s) => s.some((m) => m.payload === `{"n":${n}}`));
  };
  const connected = () =>
    gw.waitForMessage<Info>(client, `${gw.baseTopic}/bridge/info`, (m) => m.upstream?.connected === true);

  await connected();
  await sendProbe(1);
  await sendProbe(2);
  const sentBefore = sampleValue(await scrape(), 'zephyr2mqtt_upstream_messages_sent_total');
  expect(sentBefore).toBeGreaterThanOrEqual(2);

  await setBridgeEnabled(gw, false);
  const off = await scrape();
  expect(sampleValue(off, 'zephyr2mqtt_upstream_messages_sent_total')).toBe(sentBefore);
  // The gauges of a stopped bridge are not exported.
  expect(parseExposition(off).samples.some((s) => s.name.startsWith('zephyr2mqtt_upstream_queue_'))).toBe(false);
  expect(sampleValue(off, 'zephyr2mqtt_upstream_connected')).toBeUndefined();

  const reconnected = connected();
  await setBridgeEnabled(gw, true);
  await reconnected;
  await sendProbe(3);
  const on = await scrape();
  const status = gw.gateway.upstreamStatus() as Required<Info>['upstream'];
  expect(sampleValue(on, 'zephyr2mqtt_upstream_connected')).toBe(1);
  expect(sampleValue(on, 'zephyr2mqtt_upstream_messages_sent_total')).toBe(status.messages?.sent);
  expect(sampleValue(on, 'zephyr2mqtt_upstream_messages_sent_total')).toBeGreaterThan(sentBefore ?? 0);
  expect(sampleValue(on, 'zephyr2mqtt_upstream_reconnects_total')).toBe(0);
  expect(status.messages?.reconnects).toBe(0);
});
