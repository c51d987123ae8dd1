// The drop report is published on <base>/bridge/event and bridge/info, which go upstream too (default `#`
// mapping). When those are dropped as well, that must not make the next report: a report and two drops every
// second, forever, with no device traffic. Black-box through the real gateway, which publishes the reports.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { tempDataDir } from '../upstream/local-bridge.js';
import { Mosquitto } from '../upstream/mosquitto.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function gatewayWithBridge(bridge: Record<string, unknown>): Promise<TestGateway> {
  const gw = await startTestGateway({ bridge: { enabled: true, reconnect_min: 0.05, reconnect_max: 0.5, ...bridge } });
  cleanups.push(() => gw.stop());
  return gw;
}

/** Collects the queue_dropped reports on <base>/bridge/event, each with the time it arrived. */
async function watchReports(gw: TestGateway, client: MqttClient) {
  const reports: Array<{ at: number; data: Record<string, unknown> }> = [];
  client.on('message', (topic, payload) => {
    if (topic !== `${gw.baseTopic}/bridge/event`) return;
    const event = JSON.parse(payload.toString()) as { type: string; data: Record<string, unknown> };
    if (event.type === 'queue_dropped') reports.push({ at: Date.now(), data: event.data });
  });
  await client.subscribeAsync(`${gw.baseTopic}/bridge/event`, { qos: 1 });
  return reports;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('an upstream whose ACL refuses the gateway reports (MQTT 5, 0x87): counted, but at most one report, not one a second', async () => {
  const dir = await tempDataDir(cleanups, 'z2m-acl-');
  // Anonymous clients may publish the link state only: everything else is refused with 0x87 Not authorized.
  await writeFile(join(dir, 'acl'), 'topic write test-gw/bridge/state\n');
  // Mosquitto 2.0.11 disconnects a client after refusing its publish when it has max_queued_messages packets or
  // more waiting, which the helper's `max_queued_messages 0` (no limit) makes always true. Its default instead:
  const mosquitto = new Mosquitto(dir, `max_queued_messages 1000\nacl_file ${join(dir, 'acl')}`);
  await mosquitto.start();
  cleanups.push(() => mosquitto.stop());
  const gw = await gatewayWithBridge({ url: mosquitto.url, protocol_version: '5' });
  const client = await gw.connect();
  const reports = await watchReports(gw, client);
  await expect.poll(() => gw.gateway.upstreamStatus()?.connected, { timeout: 10_000 }).toBe(true);

  // No device traffic: what the gateway publishes itself (bridge/devices, its events and info) is all there is.
  await sleep(4000);
  const status = gw.gateway.upstreamStatus() as { dropped: { rejected: number } };
  expect(status.dropped.rejected).toBeGreaterThan(2); // the reports' own messages were refused and counted
  expect(reports.length).toBeLessThanOrEqual(1);
});

it('a full queue (drop_newest) refusing the gateway reports: once device traffic stops, so do the reports', async () => {
  const gw = await gatewayWithBridge({
    url: 'mqtt://127.0.0.1:1', // unreachable: everything stays queued
    protocol_version: '3.1.1',
    queue: { max_bytes: 1024 * 1024, when_full: 'drop_newest', fsync: 'never' },
  });
  const client = await gw.connect();
  const reports = await watchReports(gw, client);
  const body = 'x'.repeat(1000);
  await Promise.all(
    Array.from({ length: 1200 }, (_, i) => client.publishAsync(`${gw.baseTopic}/dev`, `${i}:${body}`, { qos: 1 })),
  );
  await expect.poll(() => reports.length, { timeout: 5000 }).toBeGreaterThan(0);
  expect(reports[0]!.data).toMatchObject({ reason: 'queue_full' });

  // The device drops have been reported (at most once a second): from now on only the reports' own messages are.
  await sleep(1500);
  const from = reports.length;
  await sleep(3500);
  expect(reports.length - from).toBeLessThanOrEqual(1);
});
