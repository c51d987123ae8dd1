// The upstream queue's disk is full and no device publishes: the drop report (bridge/event, bridge/info) and the log
// line it makes (on bridge/logging) go upstream too and are dropped in turn; that must not make the next report,
// every second, forever. Black-box through the real gateway with its data dir on a real full filesystem (tmpfs).
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { logTail } from '../../gateway/dashboard/log-tail.js';
import { startTestGateway } from '../helpers/gateway.js';
import { tempDataDir } from './local-bridge.js';
import { mountSmallDisk } from './small-disk.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('a full disk: once device traffic stops, so do the drop reports', async () => {
  const dir = await tempDataDir(cleanups);
  const disk = await mountSmallDisk(dir, '4m');
  cleanups.push(async () => disk.unmount());
  const gw = await startTestGateway(
    {
      gateway: { data_dir: disk.path },
      api: { bridge_logging: 'info' },
      bridge: {
        enabled: true,
        url: 'mqtt://127.0.0.1:1', // unreachable: everything stays queued
        protocol_version: '3.1.1',
        reconnect_min: 0.05,
        reconnect_max: 0.5,
        queue: { max_bytes: 64 * 1024 * 1024, fsync: 'never' },
      },
    },
    { logger: pino({ level: 'info', base: undefined }, logTail) },
  );
  cleanups.push(() => gw.stop());
  const client = await gw.connect();
  const reports: number[] = [];
  client.on('message', (topic, payload) => {
    const event = JSON.parse(payload.toString()) as { type: string; data: { reason?: string } };
    if (topic === `${gw.baseTopic}/bridge/event` && event.type === 'queue_dropped') reports.push(Date.now());
  });
  await client.subscribeAsync(`${gw.baseTopic}/bridge/event`, { qos: 1 });
  const body = 'x'.repeat(1000);
  // Well past the 4 MB: the disk stays full afterwards.
  for (let i = 0; i < 6000; i++) await client.publishAsync(`${gw.baseTopic}/dev`, `${i}:${body}`, { qos: 1 });
  await expect.poll(() => reports.length, { timeout: 10_000 }).toBeGreaterThan(0);
  expect((gw.gateway.upstreamStatus() as { dropped: { disk_full: number } }).dropped.disk_full).toBeGreaterThan(0);

  // The device drops have been reported (at most once a second): from now on only the reports' own messages are.
  // Both waits are DropReport's 1 s window (not configurable through the gateway): the last device drops' report
  // comes within it, and a report of the reports' own drops would come every second of the 3.5 s after.
  await sleep(1500);
  const from = reports.length;
  await sleep(3500);
  expect(reports.length - from).toBeLessThanOrEqual(1);
});
