import { appendFile, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DiskQueue, QueuedMessage } from '../../gateway/upstream/queue/disk-queue.js';
import { msg, queueConfig, recordHooks } from './queue-helpers.js';
import { closeQueue, closeQueuesAfterEach, newQueueDir, openTestQueue } from './queues-under-test.js';

closeQueuesAfterEach();

const openQueue = (dir: string, over = {}, hooks = recordHooks()) => openTestQueue(dir, queueConfig(over), hooks);

async function readAll(q: DiskQueue, limit = 1_000_000): Promise<QueuedMessage[]> {
  const out: QueuedMessage[] = [];
  for (let m = await q.next(); m && out.length < limit; m = await q.next()) out.push(m);
  return out;
}

/** Everything readBatch hands out, `max` records per call, copied out of the views. */
async function readAllBatched(q: DiskQueue, max: number, maxBytes: number) {
  const out: Array<{ seq: number; topic: string; payload: string; qos: number; retain: boolean }> = [];
  const sizes: number[] = [];
  for (let calls = 0; calls < 100_000; calls++) {
    const n = await q.readBatch(max, maxBytes, (v, seq) => {
      out.push({
        seq,
        topic: v.buf.toString('utf8', v.topicStart, v.topicEnd),
        payload: v.buf.toString('latin1', v.topicEnd, v.payloadEnd),
        qos: v.qos,
        retain: v.retain,
      });
    });
    if (n === 0) break;
    sizes.push(n);
  }
  return { out, sizes };
}

describe('DiskQueue', () => {
  it('knows the oldest message during an outage (nothing read), after acknowledgements and after draining', async () => {
    const { queue } = await openQueue(await newQueueDir());
    const t0 = Date.now() - 5000;
    expect(queue.stats().oldestTs).toBeUndefined();
    await queue.append({ ...msg('a', '0'), ts: t0 });
    await queue.append({ ...msg('a', '1'), ts: t0 + 1000 });
    expect(queue.stats().oldestTs).toBe(t0);
    const first = await queue.next();
    await queue.next();
    queue.ack(first!.seq);
    queue.rewind(); // the connection was lost: nothing in flight
    await expect.poll(() => queue.stats().oldestTs).toBe(t0 + 1000);
    await queue.next();
    queue.ack(first!.seq + 1);
    expect(queue.stats().oldestTs).toBeUndefined();
    await queue.append({ ...msg('a', '2'), ts: t0 + 2000 });
    expect(queue.stats().oldestTs).toBe(t0 + 2000);
  });

  it('hands out records in append order and keeps unacknowledged ones across a reopen', async () => {
    const dir = await newQueueDir();
    const { queue } = await openQueue(dir);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => queue.append(msg(`t/${i % 3}`, `m${i}`))));
    expect(results.every((r) => r === 'queued')).toBe(true);
    const first = await readAll(queue);
    expect(first.map((m) => m.payload.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
    expect(first.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (const m of first.slice(0, 20)) queue.ack(m.seq);
    expect(queue.stats().depth).toBe(30);
    await closeQueue(queue);

    const reopened = await openQueue(dir);
    expect(reopened.recovery).toEqual({ truncatedBytes: 0, depth: 30 });
    const rest = await readAll(reopened.queue);
    expect(rest.map((m) => m.payload.toString())).toEqual(Array.from({ length: 30 }, (_, i) => `m${i + 20}`));
  });

  it('rewind re-delivers what was handed out but not acknowledged', async () => {
    const { queue } = await openQueue(await newQueueDir());
    for (let i = 0; i < 5; i++) await queue.append(msg('t', `m${i}`));
    const a = await readAll(queue);
    queue.ack(a[0]!.seq);
    queue.ack(a[1]!.seq);
    queue.rewind();
    const b = await readAll(queue);
    expect(b.map((m) => m.payload.toString())).toEqual(['m2', 'm3', 'm4']);
  });

  it('rewind passes over records acknowledged out of order and hands out the others with the packet id they were sent with', async () => {
    const { queue } = await openQueue(await newQueueDir());
    for (let i = 0; i < 4; i++) await queue.append(msg('t', `m${i}`));
    const handOut = async () => {
      const out: Array<[string, number, number]> = [];
      await queue.readBatch(100, 1 << 20, (v, seq, sentAs) =>
        out.push([v.buf.toString('utf8', v.topicEnd, v.payloadEnd), seq, sentAs]),
      );
      return out;
    };
    const first = await handOut();
    expect(first.map(([payload, , sentAs]) => [payload, sentAs])).toEqual([
      ['m0', 0],
      ['m1', 0],
      ['m2', 0],
      ['m3', 0],
    ]);
    const seq = first.map(([, s]) => s);
    queue.sentWith(seq[0]!, 11);
    queue.sentWith(seq[1]!, 12);
    queue.sentWith(seq[3]!, 14); // m2 was handed out but never written
    queue.ack(seq[1]!);
    queue.rewind();
    expect((await handOut()).map(([payload, , sentAs]) => [payload, sentAs])).toEqual([
      ['m0', 11],
      ['m2', 0],
      ['m3', 14],
    ]);
    expect(queue.stats().depth).toBe(4);
    queue.ack(seq[0]!);
    expect(queue.stats().depth).toBe(2);
  });

  it('waitForData resolves when a record is appended', async () => {
    const { queue } = await openQueue(await newQueueDir());
    const waiting = queue.waitForData();
    await queue.append(msg('t', 'x'));
    await waiting;
    expect((await queue.next())?.payload.toString()).toBe('x');
  });

  it('cuts off a torn tail left by a crash and keeps the whole records before it', async () => {
    const dir = await newQueueDir();
    const { queue } = await openQueue(dir);
    for (let i = 0; i < 10; i++) await queue.append(msg('t', `m${i}`));
    await closeQueue(queue);
    const [seg] = (await readdir(dir)).filter((f) => f.endsWith('.seg'));
    // Half a record: a length header promising more bytes than were written.
    await appendFile(join(dir, seg!), Buffer.from([40, 0, 0, 0, 1, 2, 3, 4, 5]));
    const reopened = await openQueue(dir);
    expect(reopened.recovery).toEqual({ truncatedBytes: 9, depth: 10 });
    await reopened.queue.append(msg('t', 'after'));
    const all = await readAll(reopened.queue);
    expect(all.map((m) => m.payload.toString())).toEqual([...Array.from({ length: 10 }, (_, i) => `m${i}`), 'after']);
  });

  it('rotates segment files and deletes the ones fully acknowledged', async () => {
    const dir = await newQueueDir();
    const { queue } = await openQueue(dir, { segment_bytes: 64 * 1024 });
    const body = Buffer.alloc(1000, 0x61);
    for (let i = 0; i < 300; i++) await queue.append(msg('t', body));
    expect(queue.stats().segments).toBeGreaterThanOrEqual(4);
    for (const m of await readAll(queue)) queue.ack(m.seq);
    await closeQueue(queue);
    const segs = (await readdir(dir)).filter((f) => f.endsWith('.seg'));
    expect(segs).toHaveLength(1);
    const reopened = await openQueue(dir);
    expect(reopened.recovery.depth).toBe(0);
    expect(await reopened.queue.next()).toBeUndefined();
  });

  it('replaces a fully acknowledged active file by an empty one once it holds 1 MiB (a disk smaller than segment_bytes)', async () => {
    const dir = await newQueueDir();
    const { queue } = await openQueue(dir); // segment_bytes 16 MiB: without this the file would only grow
    const body = Buffer.alloc(1000, 0x61);
    const segFiles = async () => (await readdir(dir)).filter((f) => f.endsWith('.seg'));
    const sendAll = async (count: number) => {
      for (let i = 0; i < count; i++) await queue.append(msg('t', body));
      for (const m of await readAll(queue)) queue.ack(m.seq);
    };
    await sendAll(600); // ~600 KB: kept, not worth a new file yet
    // Nothing happens here to wait for: five housekeeping ticks (cursorPersistMs 20) leave the file alone.
    await new Promise((r) => setTimeout(r, 100));
    expect(await segFiles()).toEqual(['0000000000000000.seg']);
    expect(queue.stats().bytes).toBeGreaterThan(600_000);

    await sendAll(500); // past 1 MiB
    await expect.poll(segFiles).toEqual(['0000000000001100.seg']);
    expect(queue.stats()).toMatchObject({ bytes: 0, depth: 0, segments: 1 });
    expect(await queue.append(msg('t', 'after'))).toBe('queued');
    const next = await queue.next();
    expect(next).toMatchObject({ seq: 1100, payload: Buffer.from('after') });
    await closeQueue(queue);

    const reopened = await openQueue(dir);
    expect(reopened.recovery.depth).toBe(1); // 'after' was not acknowledged
    expect((await reopened.queue.next())?.seq).toBe(1100);
  });

  it('drop_oldest: stays within max_bytes, counts every dropped message and keeps the newest in order', async () => {
    const dir = await newQueueDir();
    const { queue, hooks } = await openQueue(dir, { max_bytes: 1024 * 1024, when_full: 'drop_oldest', fsync: 'never' });
    const body = Buffer.alloc(1000, 0x62);
    const total = 3000;
    for (let i = 0; i < total; i++) {
      expect(await queue.append(msg('t', Buffer.concat([Buffer.from(`${i}:`), body])))).toBe('queued');
      expect(queue.stats().bytes).toBeLessThanOrEqual(1024 * 1024);
    }
    const kept = await readAll(queue);
    expect(hooks.drops.queue_full).toBeGreaterThan(0);
    expect(hooks.drops.queue_full + kept.length).toBe(total);
    const ids = kept.map((m) => Number(m.payload.toString().split(':')[0]));
    expect(ids.at(-1)).toBe(total - 1);
    expect(ids).toEqual(Array.from({ length: kept.length }, (_, i) => total - kept.length + i));
  });

  it('drop_newest: refuses new messages when full and keeps the old ones', async () => {
    const { queue, hooks } = await openQueue(await newQueueDir(), {
      max_bytes: 1024 * 1024,
      when_full: 'drop_newest',
      fsync: 'never',
    });
    const body = Buffer.alloc(1000, 0x63);
    let refused = 0;
    for (let i = 0; i < 1500; i++) if ((await queue.append(msg('t', body))) === 'dropped') refused++;
    expect(refused).toBeGreaterThan(0);
    expect(hooks.drops.queue_full).toBe(refused);
    const kept = await readAll(queue);
    expect(kept[0]!.seq).toBe(0);
    expect(kept.length + refused).toBe(1500);
  });

  it('readBatch hands out the same records as next(): across segments, bounded per call, huge records too', async () => {
    const dir = await newQueueDir();
    const { queue } = await openQueue(dir, { segment_bytes: 64 * 1024 });
    const huge = 'h'.repeat(1_500_000); // larger than the 1 MiB read chunk
    const payloads = Array.from({ length: 400 }, (_, i) => (i === 250 ? huge : `${i}:${'x'.repeat(i % 300)}`));
    for (const [i, p] of payloads.entries()) {
      await queue.append({ ...msg(`t/${i % 5}`, p, i % 3 === 0 ? 0 : 1), retain: i % 7 === 0 });
    }
    const { out, sizes } = await readAllBatched(queue, 32, 4096);
    expect(out.map((m) => m.payload)).toEqual(payloads);
    expect(out.map((m) => m.seq)).toEqual(payloads.map((_, i) => i));
    expect(out.map((m) => [m.topic, m.qos, m.retain])).toEqual(
      payloads.map((_, i) => [`t/${i % 5}`, i % 3 === 0 ? 0 : 1, i % 7 === 0]),
    );
    expect(Math.max(...sizes)).toBeLessThanOrEqual(32);
    expect(queue.inflightCount()).toBe(400);
    // Nothing acknowledged: a rewind hands all of it out again, and next() agrees.
    queue.rewind();
    const again = await readAll(queue);
    expect(again.map((m) => m.payload.toString('latin1'))).toEqual(payloads);
  });

  it('readBatch keeps up with appends (served from the last write) and agrees with the file after a rewind', async () => {
    const { queue } = await openQueue(await newQueueDir(), { segment_bytes: 64 * 1024 });
    const expected: string[] = [];
    const got: string[] = [];
    for (let round = 0; round < 60; round++) {
      const n = 1 + (round % 7);
      const batch = Array.from({ length: n }, (_, i) => `${round}.${i}:${'y'.repeat((round * 97 + i) % 2000)}`);
      expected.push(...batch);
      await Promise.all(batch.map((p) => queue.append(msg('t', p))));
      const { out } = await readAllBatched(queue, 3, 1 << 20);
      got.push(...out.map((m) => m.payload));
    }
    expect(got).toEqual(expected);
    expect(queue.stats().segments).toBeGreaterThan(1);
    queue.rewind();
    const { out } = await readAllBatched(queue, 1000, 1 << 20);
    expect(out.map((m) => m.payload)).toEqual(expected);
  });

  it('readBatch skips a damaged record in an older segment (counted) and drops expired ones', async () => {
    const dir = await newQueueDir();
    const { queue, hooks } = await openQueue(dir, { segment_bytes: 64 * 1024, fsync: 'never', max_age: 60 });
    await queue.append({ ...msg('t', 'expired'), ts: Date.now() - 120_000 });
    const body = 'a'.repeat(1000);
    for (let i = 0; i < 100; i++) await queue.append(msg('t', `${i}:${body}`));
    await closeQueue(queue);
    const segs = (await readdir(dir)).filter((f) => f.endsWith('.seg')).sort();
    expect(segs.length).toBeGreaterThan(1);
    // Flip a byte in the middle of the first segment: that one record is lost (queue-damage.test.ts has more).
    const first = join(dir, segs[0]!);
    const fh = await open(first, 'r+');
    await fh.write(Buffer.from([0xff]), 0, 1, 30_000);
    await fh.close();
    const reopened = await openQueue(dir, { segment_bytes: 64 * 1024, fsync: 'never', max_age: 60 });
    const { out } = await readAllBatched(reopened.queue, 1000, 1 << 20);
    const ids = out.map((m) => Number(m.payload.split(':')[0]));
    expect(reopened.hooks.drops.max_age).toBe(1);
    expect(ids.length).toBe(99);
    expect(ids.at(-1)).toBe(99);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(reopened.hooks.drops.corrupt).toBe(100 - ids.length);
    expect(hooks.drops.corrupt).toBe(0);
  });

  it('drops messages older than max_age when reading them, counted', async () => {
    const { queue, hooks } = await openQueue(await newQueueDir(), { max_age: 60 });
    await queue.append({ ...msg('t', 'old'), ts: Date.now() - 120_000 });
    await queue.append(msg('t', 'new'));
    const all = await readAll(queue);
    expect(all.map((m) => m.payload.toString())).toEqual(['new']);
    expect(hooks.drops.max_age).toBe(1);
  });

  it('group commit: many concurrent appends with fsync always all complete in order', async () => {
    const { queue } = await openQueue(await newQueueDir(), { fsync: 'always' });
    const n = 5000;
    const res = await Promise.all(Array.from({ length: n }, (_, i) => queue.append(msg(`t/${i % 7}`, String(i)))));
    expect(res.filter((r) => r === 'queued')).toHaveLength(n);
    const all = await readAll(queue);
    expect(all.map((m) => Number(m.payload.toString()))).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('reports the age of the oldest unacknowledged message', async () => {
    const { queue } = await openQueue(await newQueueDir());
    const ts = Date.now() - 5000;
    await queue.append({ ...msg('t', 'a'), ts });
    const m = await queue.next();
    expect(queue.stats().oldestTs).toBe(ts);
    queue.ack(m!.seq);
    expect(queue.stats()).toMatchObject({ depth: 0, oldestTs: undefined });
  });
});
