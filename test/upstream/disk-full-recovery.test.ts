// A data dir on a disk smaller than the queue's budget (queue.max_bytes): it fills up during an outage. Once the
// backlog is acknowledged the queue must give the space back by itself, write its cursor, and queue again.
import { open, readdir, readFile, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskQueue, type QueuedMessage } from '../../gateway/upstream/queue/disk-queue.js';
import { makeBridge, observe, publishMany, reservedUpstreamPort, startUpstreamAedes } from './brokers.js';
import { startLocalBridge, tempDataDir } from './local-bridge.js';
import { msg, queueConfig, recordHooks } from './queue-helpers.js';
import { mountSmallDisk } from './small-disk.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function smallDisk(size: string): Promise<string> {
  const dir = await tempDataDir(cleanups);
  const disk = await mountSmallDisk(dir, size);
  cleanups.push(async () => disk.unmount());
  return disk.path;
}

/** Takes the last free blocks, so that nothing (not even a small cursor file) can be written any more. */
async function fillUp(path: string): Promise<void> {
  const fh = await open(join(path, 'filler'), 'a');
  const block = Buffer.alloc(4096);
  try {
    for (;;) await fh.write(block);
  } catch {
    // ENOSPC: full
  } finally {
    await fh.close();
  }
}

const segmentBytes = async (dir: string) => {
  const segs = (await readdir(dir)).filter((f) => f.endsWith('.seg'));
  const sizes = await Promise.all(segs.map(async (f) => (await stat(join(dir, f))).size));
  return { segs, bytes: sizes.reduce((a, b) => a + b, 0) };
};

const kb = (i: number) => `${i}:${'x'.repeat(1000)}`;

describe('upstream queue on a full disk', () => {
  it('deletes acknowledged files to make room for its cursor, then writes it: a restart neither re-sends nor loses', async () => {
    const dir = join(await smallDisk('1m'), 'queue');
    const config = queueConfig({ segment_bytes: 64 * 1024, max_bytes: 64 * 1024 * 1024 });
    const hooks = recordHooks();
    const options = { cursorPersistMs: 20, diskFullRetryMs: 50 };
    const { queue } = await DiskQueue.open(dir, config, hooks, options);
    cleanups.push(() => queue.close());
    while (hooks.diskFullErrors.length === 0) await queue.append(msg('t', kb(queue.stats().depth)));
    await fillUp(join(dir, '..'));
    const queued = queue.stats().depth;
    expect(queued).toBeGreaterThan(800);
    const before = await segmentBytes(dir);

    const handedOut: QueuedMessage[] = [];
    for (let m = await queue.next(); m; m = await queue.next()) handedOut.push(m);
    for (const m of handedOut.slice(0, 600)) queue.ack(m.seq);
    const cursor = async () => JSON.parse(await readFile(join(dir, 'cursor.json'), 'utf8').catch(() => '{}'));
    await expect.poll(cursor, { timeout: 5000 }).toMatchObject({ seq: 600 });
    const after = await segmentBytes(dir);
    expect(after.segs.length).toBeLessThan(before.segs.length);
    expect((await readdir(dir)).includes('cursor.json.tmp')).toBe(false);
    await queue.close();

    const reopened = await DiskQueue.open(dir, config, recordHooks(), options);
    cleanups.push(() => reopened.queue.close());
    expect(reopened.recovery.depth).toBe(queued - 600);
    expect((await reopened.queue.next())?.payload.toString()).toBe(kb(600));
  });

  it('a disk smaller than queue.max_bytes: warned at start; after a disk-full outage the acknowledged data is deleted, and new messages are queued and delivered', async () => {
    const disk = await smallDisk('2m');
    const dir = await tempDataDir(cleanups);
    const port = await reservedUpstreamPort();
    const config = { url: `mqtt://127.0.0.1:${port}` }; // queue.max_bytes: the default 512 MiB
    const { local, ...b } = await startLocalBridge(cleanups, dir, config, { bridgeDir: disk });
    await b.bridge.start();
    const queueDir = b.bridge.queueDir;
    const warning = await b.waitForEvent('queue_space_low');
    expect(warning.warning).toMatch(/^bridge\.queue\.max_bytes \(512\.0 MiB\) is more than the disk holds/);

    // The outage fills the disk.
    await publishMany(
      local.url,
      Array.from({ length: 2500 }, (_, i) => ({ topic: 'zephyr2mqtt/fill', payload: kb(i) })),
    );
    await b.waitForEvent('queue_disk_full');
    const status = () =>
      b.bridge.status() as { queue: { depth: number; disk_full: boolean }; dropped: { disk_full: number } };
    expect(status().queue.disk_full).toBe(true);
    const queued = status().queue.depth;
    expect(queued).toBeGreaterThan(1000);

    // The upstream is back: the backlog drains and the space it took is given back.
    const upstream = await startUpstreamAedes({ port });
    cleanups.push(() => upstream.close());
    const obs = await observe(upstream.url, 'gw1/#');
    cleanups.push(() => obs.close());
    await obs.waitFor((s) => s.length >= queued, 15_000, `${queued} queued messages`);
    await expect.poll(() => status().queue.disk_full, { timeout: 10_000 }).toBe(false);
    const lastEvent = (name: string) => b.events.findLastIndex((e) => e.data.event === name);
    expect(lastEvent('queue_recovered')).toBeGreaterThan(lastEvent('queue_disk_full'));
    const files = await segmentBytes(queueDir);
    expect(files.segs).not.toContain('0000000000000000.seg');
    expect(files.bytes).toBe(0);
    const fs = await statfs(disk);
    expect(fs.bavail * fs.bsize).toBeGreaterThan(1.5 * 1024 * 1024);

    // New messages are queued, not dropped, and delivered.
    const droppedBefore = status().dropped.disk_full;
    await publishMany(
      local.url,
      Array.from({ length: 300 }, (_, i) => ({ topic: 'zephyr2mqtt/after', payload: kb(i) })),
    );
    await obs.waitFor((s) => s.filter((m) => m.topic === 'gw1/after').length >= 300, 10_000, '300 new messages');
    expect(status().dropped.disk_full).toBe(droppedBefore);

    // The cursor was written: a restart sends nothing again.
    await b.bridge.stop();
    const delivered = obs.seen.length;
    const restarted = makeBridge(local.broker, disk, { url: upstream.url });
    cleanups.push(() => restarted.bridge.stop());
    await restarted.bridge.start();
    await restarted.waitForEvent('connected');
    expect((restarted.bridge.status().queue as { depth: number }).depth).toBe(0);
    // A message queued now goes out after anything the queue would send again: what came before it is all there is.
    const cursorSeq = async () =>
      (JSON.parse(await readFile(join(restarted.bridge.queueDir, 'cursor.json'), 'utf8')) as { seq: number }).seq;
    const seqBeforeMarker = await cursorSeq();
    await local.broker.publish('zephyr2mqtt/marker', 'm', { qos: 1 });
    await obs.waitFor((s) => s.some((m) => m.topic === 'gw1/marker'), 10_000, 'the marker');
    const at = (topic: string) => obs.seen.findIndex((m) => m.topic === topic);
    const resent = obs.seen.slice(delivered, at('gw1/marker'));
    expect(resent.filter((m) => m.topic !== 'gw1/bridge/state')).toEqual([]);
    // Nor later, from the queue's housekeeping tick (cursorPersistMs): while the bridge runs, only that tick writes
    // cursor.json, and it moves past the marker only once the marker is acknowledged, so a tick has run after it.
    // A second marker queued then goes out after anything that tick made the queue send again.
    await expect.poll(cursorSeq, { timeout: 5000 }).toBeGreaterThan(seqBeforeMarker);
    await local.broker.publish('zephyr2mqtt/marker2', 'm2', { qos: 1 });
    await obs.waitFor((s) => s.some((m) => m.topic === 'gw1/marker2'), 10_000, 'the second marker');
    const afterMarker = obs.seen.slice(at('gw1/marker'), at('gw1/marker2'));
    expect(afterMarker.filter((m) => m.topic !== 'gw1/bridge/state')).toEqual([
      expect.objectContaining({ topic: 'gw1/marker', payload: 'm' }),
    ]);
  });
});
