// The queue's limits seen from outside: the configured policy, counted on /metrics and reported on bridge/event.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type makeBridge, observe, publishMany, reservedUpstreamPort, startUpstreamAedes } from './brokers.js';
import { startLocalBridge, tempDataDir } from './local-bridge.js';
import { mountSmallDisk } from './small-disk.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const kb = (i: number) => `${i}:${'x'.repeat(1000)}`;

async function publishAndCheckQueued(url: string, b: ReturnType<typeof makeBridge>): Promise<boolean> {
  const before = (b.bridge.status().queue as { depth: number }).depth;
  await publishMany(url, [{ topic: 'zephyr2mqtt/fill', payload: 'after recovery' }]);
  return (b.bridge.status().queue as { depth: number }).depth === before + 1;
}

describe('full upstream queue', () => {
  it('drop_oldest: drops the oldest, counts and reports them, then delivers the newest in order', async () => {
    const dir = await tempDataDir(cleanups);
    const port = await reservedUpstreamPort();
    const { local, ...b } = await startLocalBridge(cleanups, dir, {
      url: `mqtt://127.0.0.1:${port}`,
      queue: { max_bytes: 1024 * 1024, when_full: 'drop_oldest', fsync: 'never' },
    });
    await b.bridge.start();
    const total = 3000;
    await publishMany(
      local.url,
      Array.from({ length: total }, (_, i) => ({ topic: 'zephyr2mqtt/big', payload: kb(i) })),
    );
    const event = await b.waitForEvent('queue_dropped');
    expect(event).toMatchObject({ reason: 'queue_full' });
    const status = b.bridge.status() as { dropped: { queue_full: number }; queue: { depth: number; bytes: number } };
    expect(status.dropped.queue_full).toBeGreaterThan(0);
    expect(status.queue.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(status.dropped.queue_full + status.queue.depth).toBe(total);
    const metrics = await b.registry.metrics();
    expect(metrics).toContain(
      `zephyr2mqtt_upstream_messages_dropped_total{reason="queue_full"} ${status.dropped.queue_full}`,
    );

    const upstream = await startUpstreamAedes({ port });
    cleanups.push(() => upstream.close());
    const obs = await observe(upstream.url, 'gw1/big');
    cleanups.push(() => obs.close());
    const kept = status.queue.depth;
    await obs.waitFor((s) => s.length >= kept, 15_000, `${kept} kept messages`);
    const ids = obs.seen.map((m) => Number(m.payload.split(':')[0]));
    expect(ids).toEqual(Array.from({ length: kept }, (_, i) => total - kept + i));
  });

  it('full disk: stops queueing, reports it, keeps delivering locally, and recovers when space returns', async () => {
    const dir = await tempDataDir(cleanups);
    const disk = await mountSmallDisk(dir, '1m');
    cleanups.push(async () => disk.unmount());
    const mnt = disk.path;
    const { local, ...b } = await startLocalBridge(
      cleanups,
      dir,
      { url: 'mqtt://127.0.0.1:1', queue: { fsync: 'never' } },
      { bridgeDir: mnt },
    );
    await b.bridge.start();
    const localObs = await observe(local.url, 'zephyr2mqtt/fill');
    cleanups.push(() => localObs.close());
    // Leave the queue about 100 KiB.
    const filler = join(mnt, 'filler');
    await writeFile(filler, Buffer.alloc(1024 * 1024 - 100 * 1024 - 8192));
    const messages = Array.from({ length: 200 }, (_, i) => ({ topic: 'zephyr2mqtt/fill', payload: kb(i) }));
    await publishMany(local.url, messages);
    const full = await b.waitForEvent('queue_disk_full');
    expect(String(full.error)).toMatch(/ENOSPC/);
    await localObs.waitFor((s) => s.length >= 200, 5000, 'local delivery while the disk is full');
    // Each message was either queued or refused and counted. (Now and then a small write still fits, so the
    // queue may flip between full and recovered while the disk is nearly full.)
    const status = b.bridge.status() as { dropped: { disk_full: number }; queue: { depth: number } };
    expect(status.dropped.disk_full).toBeGreaterThan(0);
    expect(status.dropped.disk_full + status.queue.depth).toBe(200);

    // Every append has completed (all PUBACKs arrived), so nothing can fail after the filler is gone: either the
    // queue is already writing again, or its free-space probe reports the recovery.
    const since = b.events.length;
    await rm(filler);
    if ((b.bridge.status().queue as { disk_full: boolean }).disk_full) {
      await b.waitForEvent('queue_recovered', 10_000, since);
    }
    expect(b.events.some((e) => e.data.event === 'queue_recovered')).toBe(true);
    expect(await publishAndCheckQueued(local.url, b)).toBe(true);
    expect((b.bridge.status().queue as { disk_full: boolean }).disk_full).toBe(false);
  });
});
