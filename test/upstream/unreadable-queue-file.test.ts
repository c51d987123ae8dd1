// A queue file the gateway cannot read (EACCES after a `sudo` run, EIO from a failing SD card) must not stop
// delivery for good: it is reported (last_error, bridge/event, naming the file and the fix), retried when the error
// may pass, else skipped and counted, and the rest is delivered. Faults are injected into node:fs/promises: as root
// (CI, containers) a chmod does not make a file unreadable.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EmbeddedBroker } from '../../gateway/broker/types.js';
import { DiskQueue } from '../../gateway/upstream/queue/disk-queue.js';
import { decodeRecord } from '../../gateway/upstream/queue/record.js';
import { makeBridge, observe, startUpstreamAedes } from './brokers.js';
import { msg, queueConfig, recordHooks, tempDir } from './queue-helpers.js';

/** Per file: the error its opening for reading ('open') or its reads ('read') fail with, `times` times. */
const faults = vi.hoisted(() => new Map<string, { code: string; on: 'open' | 'read'; times: number }>());

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const fail = (path: string, on: 'open' | 'read') => {
    const f = faults.get(path);
    if (!f || f.on !== on || f.times <= 0) return;
    f.times--;
    const text = f.code === 'EACCES' ? 'permission denied' : 'i/o error';
    throw Object.assign(new Error(`${f.code}: ${text}, ${on} '${path}'`), { code: f.code, syscall: on, path });
  };
  const open: typeof fs.open = async (path, flags, mode) => {
    if (flags === 'r') fail(String(path), 'open');
    const fh = await fs.open(path, flags, mode);
    if (faults.get(String(path))?.on === 'read') {
      const read = fh.read.bind(fh) as (...args: unknown[]) => Promise<unknown>;
      (fh as { read: unknown }).read = async (...args: unknown[]) => {
        fail(String(path), 'read');
        return read(...args);
      };
    }
    return fh;
  };
  return { ...fs, open, default: { ...fs, open } };
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  faults.clear();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The queue is filled beforehand: the bridge only drains it, no local broker needed. */
const noLocalBroker = {
  addInterceptor: () => () => {},
  publish: async () => {},
  retainedMessages: () => [],
} as unknown as EmbeddedBroker;

const COUNT = 300;

/** A data dir whose queue holds messages 0..COUNT-1 in several files; returns the second file and its messages. */
async function queuedDataDir() {
  const dataDir = await tempDir();
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const dir = join(dataDir, 'upstream', 'queue');
  const config = queueConfig({ segment_bytes: 64 * 1024 });
  const { queue } = await DiskQueue.open(dir, config, recordHooks());
  for (let i = 0; i < COUNT; i++) await queue.append(msg('gw1/t', `${i}:${'x'.repeat(1000)}`));
  await queue.close();
  const segments = (await readdir(dir)).filter((f) => f.endsWith('.seg')).sort();
  expect(segments.length).toBeGreaterThan(3);
  const file = join(dir, segments[1]!);
  const ids: number[] = [];
  const buf = await readFile(file);
  for (let off = 0, res = decodeRecord(buf, 0); res.ok; off += res.bytes, res = decodeRecord(buf, off)) {
    ids.push(Number(res.message.payload.toString().split(':')[0]));
  }
  return { dataDir, dir, file, ids };
}

async function drainingBridge(dataDir: string) {
  const upstream = await startUpstreamAedes();
  cleanups.push(() => upstream.close());
  const obs = await observe(upstream.url, 'gw1/t');
  cleanups.push(() => obs.close());
  const b = makeBridge(noLocalBroker, dataDir, { url: upstream.url });
  cleanups.push(() => b.bridge.stop());
  await b.bridge.start();
  const delivered = () => [...new Set(obs.seen.map((m) => Number(m.payload.split(':')[0])))].sort((x, y) => x - y);
  return { ...b, obs, delivered };
}

const status = (b: { bridge: { status(): Record<string, unknown> } }) =>
  b.bridge.status() as { last_error: string | null; dropped: { corrupt: number }; queue: { depth: number } };

describe('an upstream queue file that cannot be read', () => {
  it('EACCES: skipped at once, said in last_error and on bridge/event (file, count, chown), counted; the rest is delivered and stop() saves the cursor', async () => {
    const { dataDir, dir, file, ids } = await queuedDataDir();
    faults.set(file, { code: 'EACCES', on: 'open', times: Number.POSITIVE_INFINITY });
    const b = await drainingBridge(dataDir);
    const expected = Array.from({ length: COUNT }, (_, i) => i).filter((i) => !ids.includes(i));
    await b.obs.waitFor(() => b.delivered().length >= expected.length, 10_000, 'every readable message');
    expect(b.delivered()).toEqual(expected);

    const error = await b.waitForEvent('error');
    expect(error.error).toMatch(
      new RegExp(
        `^cannot read upstream queue file ${file} \\(EACCES: permission denied\\): skipped its ${ids.length} messages`,
      ),
    );
    expect(error.error).toContain(`chown -R ${process.getuid!()}:${process.getgid!()} ${dir}`);
    await expect.poll(() => status(b).queue.depth).toBe(0);
    expect(status(b)).toMatchObject({ last_error: error.error, dropped: { corrupt: ids.length } });
    await expect
      .poll(() => b.events.find((e) => e.type === 'queue_dropped')?.data)
      .toMatchObject({
        reason: 'corrupt',
        count: ids.length,
      });

    await b.bridge.stop();
    expect(JSON.parse(await readFile(join(dir, 'cursor.json'), 'utf8'))).toMatchObject({ seq: COUNT });
  });

  it('EIO that passes: retried with back-off, nothing lost, and last_error clears', async () => {
    const { dataDir, file } = await queuedDataDir();
    faults.set(file, { code: 'EIO', on: 'read', times: 2 });
    const b = await drainingBridge(dataDir);
    await b.obs.waitFor(() => b.delivered().length === COUNT, 10_000, 'every message');
    const error = await b.waitForEvent('error');
    expect(error.error).toMatch(
      new RegExp(`^cannot read upstream queue file ${file} \\(EIO: i/o error\\): trying again`),
    );
    expect(error.error).toContain('dmesg');
    await expect.poll(() => status(b).last_error).toBeNull();
    expect(status(b).dropped.corrupt).toBe(0);
  });

  it('EIO that stays: skipped after five tries, the rest is delivered', async () => {
    const { dataDir, file, ids } = await queuedDataDir();
    faults.set(file, { code: 'EIO', on: 'read', times: Number.POSITIVE_INFINITY });
    const b = await drainingBridge(dataDir);
    await b.obs.waitFor(() => b.delivered().length >= COUNT - ids.length, 10_000, 'every readable message');
    const tries = b.events.filter((e) => String(e.data.error).includes('trying again'));
    expect(tries).toHaveLength(5);
    await expect
      .poll(() => status(b).last_error)
      .toMatch(new RegExp(`: skipped its ${ids.length} messages \\(dropped, corrupt\\)`));
    expect(status(b).dropped.corrupt).toBe(ids.length);
  });
});

describe('upstream queue cursor.json that cannot be written', () => {
  it('a directory in its place: last_error and bridge/event name it and the fix; cleared once it is removed', async () => {
    const { dataDir, dir } = await queuedDataDir();
    const cursor = join(dir, 'cursor.json');
    await rm(cursor, { force: true });
    await mkdir(cursor);
    const b = await drainingBridge(dataDir);
    await b.obs.waitFor(() => b.delivered().length === COUNT, 10_000, 'every message');
    const error = await b.waitForEvent('error');
    expect(error.error).toMatch(new RegExp(`^upstream queue cannot save its read position in ${cursor} \\(EISDIR`));
    expect(error.error).toContain(`Fix: ${cursor} is a directory where the queue keeps a file: remove it`);
    expect(status(b).last_error).toBe(error.error);
    expect(b.events.filter((e) => e.data.event === 'error')).toHaveLength(1);

    await rm(cursor, { recursive: true });
    await expect.poll(() => status(b).last_error).toBeNull();
    const saved = async () => JSON.parse(await readFile(cursor, 'utf8')) as unknown;
    await expect.poll(saved).toMatchObject({ seq: COUNT });
  });
});
