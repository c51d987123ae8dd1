// max_age and the oldest-message age across wall-clock steps: a board without a real-time clock starts at 1970 (or
// an old fake-hwclock time) and NTP steps the clock later. The queue gets its clocks injected and the tests step them.
import { describe, expect, it } from 'vitest';
import type { QueueConfig } from '../../gateway/upstream/config.js';
import type { DiskQueue } from '../../gateway/upstream/queue/disk-queue.js';
import type { QueueClocks } from '../../gateway/upstream/queue/record-ages.js';
import { msg, queueConfig, recordHooks } from './queue-helpers.js';
import { closeQueue, closeQueuesAfterEach, newQueueDir, openTestQueue } from './queues-under-test.js';

const NOW = Date.UTC(2026, 11, 6, 12);
const MAX_AGE_S = 60;
/** 100 records of 1 KiB in 64 KiB files: two files, so whole-file expiry runs as well as the per-record check. */
const COUNT = 100;
const BODY = 'x'.repeat(1000);

class SteppingClocks implements QueueClocks {
  /** How often the monotonic clock was read: the age check reads it on every tick. */
  reads = 0;
  #mono = 50_000;

  constructor(private wallMs: number) {}

  wall(): number {
    return this.wallMs;
  }

  mono(): number {
    this.reads++;
    return this.#mono;
  }

  /** Time passes. */
  advance(ms: number): void {
    this.wallMs += ms;
    this.#mono += ms;
  }

  /** The wall clock is set (NTP, an operator): the monotonic clock does not move. */
  setWall(ms: number): void {
    this.wallMs = ms;
  }
}

closeQueuesAfterEach();

async function openQueue(dir: string, clocks: QueueClocks, over: Partial<QueueConfig> = {}) {
  const config = queueConfig({ max_age: MAX_AGE_S, segment_bytes: 64 * 1024, fsync: 'never', ...over });
  const { queue, hooks } = await openTestQueue(dir, config, recordHooks(), clocks);
  return { queue, hooks };
}

async function appendMany(queue: DiskQueue, prefix: string, count = COUNT) {
  for (let i = 0; i < count; i++) expect(await queue.append(msg('t', `${prefix}${i}:${BODY}`))).toBe('queued');
}

/** Everything the reader hands out now (readBatch), by payload id; acknowledged unless `ack` is false. */
async function drain(queue: DiskQueue, ack = true): Promise<string[]> {
  const ids: string[] = [];
  for (let calls = 0; calls < 10_000; calls++) {
    const seqs: number[] = [];
    const n = await queue.readBatch(1000, 1 << 20, (v, seq) => {
      ids.push(v.buf.toString('latin1', v.topicEnd, v.payloadEnd).split(':')[0]!);
      seqs.push(seq);
    });
    if (ack) for (const seq of seqs) queue.ack(seq);
    if (n === 0) break;
  }
  return ids;
}

/** Waits until the periodic age check has run since now (it reads the monotonic clock on every tick). */
async function ageCheckRan(clocks: SteppingClocks) {
  const seen = clocks.reads;
  await expect.poll(() => clocks.reads).toBeGreaterThan(seen);
}

const ids = (prefix: string, count = COUNT) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

describe('DiskQueue ages across clock steps', () => {
  it('messages queued at a 1970 clock survive NTP stepping it to now, are delivered, and then expire on time', async () => {
    const clocks = new SteppingClocks(10_000); // 1970-01-01T00:00:10Z
    const { queue, hooks } = await openQueue(await newQueueDir(), clocks);
    await appendMany(queue, 'a');
    expect(queue.stats().segments).toBeGreaterThan(1);
    clocks.advance(5_000);
    clocks.setWall(NOW);
    clocks.advance(1_000);
    await ageCheckRan(clocks);
    // The first message waited 6 s, not 56 years.
    expect(clocks.wall() - queue.stats().oldestTs!).toBe(6_000);
    expect(await drain(queue, false)).toEqual(ids('a'));
    expect(hooks.drops.max_age).toBe(0);
    expect(hooks.warnings).toEqual([]);

    // Not acknowledged (the connection dropped): sent again while younger than max_age, dropped once older.
    queue.rewind();
    clocks.advance(MAX_AGE_S * 1000 - 6_000 - 1);
    await ageCheckRan(clocks);
    expect(await drain(queue, false)).toEqual(ids('a'));
    queue.rewind();
    clocks.advance(2);
    expect(await drain(queue)).toEqual([]);
    expect(hooks.drops.max_age).toBe(COUNT);
  });

  it('a backward step does not make messages queued before it immortal, nor their age 0', async () => {
    const clocks = new SteppingClocks(NOW + 2 * 3600_000);
    const { queue, hooks } = await openQueue(await newQueueDir(), clocks);
    await appendMany(queue, 'before');
    clocks.advance(1_000);
    clocks.setWall(NOW);
    expect(clocks.wall() - queue.stats().oldestTs!).toBe(1_000);
    await appendMany(queue, 'after', 3);
    clocks.advance(MAX_AGE_S * 1000 - 500);
    // The files wholly older than max_age go by the periodic check, the rest record by record when read.
    await expect.poll(() => hooks.drops.max_age).toBeGreaterThan(0);
    expect(await drain(queue)).toEqual(ids('after', 3));
    expect(hooks.drops.max_age).toBe(COUNT);
  });

  it('without a step, max_age expires messages (whole files and single records) and keeps younger ones', async () => {
    const clocks = new SteppingClocks(NOW);
    const { queue, hooks } = await openQueue(await newQueueDir(), clocks);
    await appendMany(queue, 'old');
    clocks.advance(30_000);
    await appendMany(queue, 'young', 3);
    clocks.advance(MAX_AGE_S * 1000 - 30_000 - 1);
    await ageCheckRan(clocks);
    expect(hooks.drops.max_age).toBe(0);
    clocks.advance(2);
    await expect.poll(() => hooks.drops.max_age).toBeGreaterThan(0);
    expect(await drain(queue)).toEqual(ids('young', 3));
    expect(hooks.drops.max_age).toBe(COUNT);
  });

  it('after a restart: stamps of an unset clock have an unknown age (kept, said once); sane ones are aged by them', async () => {
    const dir = await newQueueDir();
    const first = new SteppingClocks(10_000);
    const run1 = await openQueue(dir, first, { segment_bytes: 16 * 1024 * 1024 });
    await appendMany(run1.queue, 'unset', 3);
    await run1.queue.append({ ...msg('t', `old:${BODY}`), ts: NOW - 2 * MAX_AGE_S * 1000 });
    await run1.queue.append({ ...msg('t', `fresh:${BODY}`), ts: NOW - 1_000 });
    await closeQueue(run1.queue);

    const { queue, hooks } = await openQueue(dir, new SteppingClocks(NOW), { segment_bytes: 16 * 1024 * 1024 });
    expect(queue.stats()).toMatchObject({ depth: 5, oldestTs: undefined });
    expect(await drain(queue)).toEqual([...ids('unset', 3), 'fresh']);
    expect(hooks.drops.max_age).toBe(1);
    expect(hooks.warnings).toHaveLength(1);
    expect(hooks.warnings[0]!.message).toMatch(/age is unknown, they are not dropped for max_age/);
  });
});
