// Finding the records again after damage: a damaged length field must not take intact records with it, nor may
// a record inside a damaged record's payload be taken for a real one; a saved cursor inside damage keeps its
// place; a long damaged stretch in the file being written does not cut off the valid records after it.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { QueueConfig } from '../../gateway/upstream/config.js';
import { encodeRecord } from '../../gateway/upstream/queue/record.js';
import { allBut, overwrite, readIds, recordsOf, segments } from './queue-damage-helpers.js';
import { msg, queueConfig } from './queue-helpers.js';
import { closeQueue, closeQueuesAfterEach, newQueueDir, openTestQueue } from './queues-under-test.js';

closeQueuesAfterEach();

const small: Partial<QueueConfig> = { segment_bytes: 64 * 1024, fsync: 'never' };

const openQueue = (dir: string, config = small) => openTestQueue(dir, queueConfig(config));

/** A closed queue holding the payloads `payloadOf(0)` to `payloadOf(count - 1)`. */
async function filledQueue(count: number, payloadOf: (i: number) => string | Buffer, config = small) {
  const dir = await newQueueDir();
  const { queue } = await openQueue(dir, config);
  for (let i = 0; i < count; i++) await queue.append(msg('t', payloadOf(i)));
  await closeQueue(queue);
  return dir;
}

/** 128-byte records (8 header, 9 fixed, topic `t`, 110 payload): the size of much telemetry. */
const sameSize = (i: number) => `${String(i).padStart(4, '0')}:${'x'.repeat(105)}`;

/** Flips one bit of the length field of the record at `offset`. */
async function flipLengthBit(file: string, offset: number, bit: number): Promise<void> {
  const len = (await readFile(file)).readUInt32LE(offset);
  const b = Buffer.alloc(4);
  b.writeUInt32LE(len ^ (1 << bit));
  await overwrite(file, offset, b);
}

describe('resynchronising after a damaged record', () => {
  it('one flipped bit in a length field loses that record only, not the intact records the wrong length covers', async () => {
    const dir = await filledQueue(1200, sameSize);
    const segs = await segments(dir);
    expect(segs.length).toBeGreaterThan(2);
    const older = join(dir, segs[0]!);
    const active = join(dir, segs.at(-1)!);
    const olderVictim = (await recordsOf(older))[3]!;
    const activeVictim = (await recordsOf(active))[3]!;
    // 120 -> 632: the wrong length ends exactly on the record five further on.
    await flipLengthBit(older, olderVictim.offset, 9);
    await flipLengthBit(active, activeVictim.offset, 9);

    const { queue, hooks } = await openQueue(dir);
    expect(await readIds(queue)).toEqual(allBut(1200, [olderVictim.id, activeVictim.id]));
    expect(hooks.drops.corrupt).toBe(2);
    expect(hooks.warnings.map((w) => w.details)).toEqual([
      expect.objectContaining({ file: older, offset: olderVictim.offset, bytes: 128, count: 1 }),
      expect.objectContaining({ file: active, offset: activeVictim.offset, bytes: 128, count: 1 }),
    ]);
    expect(hooks.warnings[0]!.message).toContain('skipped a damaged record');
  });

  it('a damaged payload that holds a whole record of its own: that inner record is not delivered', async () => {
    const inner = encodeRecord('forged', Buffer.from('from inside a payload'), 1, false, Date.now());
    const carrier = (i: number) => Buffer.concat([Buffer.from(`${i}:`), inner, Buffer.from('y'.repeat(50))]);
    const dir = await filledQueue(30, carrier);
    const [only] = await segments(dir);
    const file = join(dir, only!);
    const victim = (await recordsOf(file))[7]!;
    await overwrite(file, victim.offset + victim.bytes - 10, Buffer.from('#')); // the body, after the inner record

    const { queue, hooks } = await openQueue(dir);
    const topics: string[] = [];
    for (let m = await queue.next(); m; m = await queue.next()) topics.push(m.topic);
    expect(topics).toEqual(Array.from({ length: 29 }, () => 't'));
    expect(hooks.drops.corrupt).toBe(1);
    expect(hooks.warnings[0]!.details).toMatchObject({ offset: victim.offset, bytes: victim.bytes, count: 1 });
  });
});

describe('a saved cursor inside damage in the file being written', () => {
  it('starts at the first valid record after the cursor, not at the oldest file', async () => {
    const dir = await filledQueue(60, (i) => `${i}:${'x'.repeat(1000)}`);
    const { queue } = await openQueue(dir);
    await readIds(queue);
    for (let seq = 0; seq < 40; seq++) queue.ack(seq);
    await closeQueue(queue); // cursor.json: message 40
    const [only] = await segments(dir);
    const file = join(dir, only!);
    const records = await recordsOf(file);
    const from = records[38]!.offset + 20;
    await overwrite(file, from, Buffer.alloc(records[42]!.offset + 20 - from)); // records 38 to 42

    const reopened = await openQueue(dir);
    expect(reopened.recovery.depth).toBe(17);
    expect(await readIds(reopened.queue)).toEqual(Array.from({ length: 17 }, (_, i) => 43 + i));
    // The message at the cursor was lost (the stretch counts as one in the file being written).
    expect(reopened.hooks.drops.corrupt).toBe(1);
    expect(reopened.hooks.warnings).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ file, offset: records[40]!.offset, count: 1 }) }),
    ]);
    // Sequence numbers still add up: the next append is read at once, and only it.
    expect(reopened.queue.unreadCount()).toBe(0);
    await reopened.queue.append(msg('t', '60:after'));
    expect(await readIds(reopened.queue)).toEqual([60]);
  });
});

describe('a long damaged stretch in the file being written', () => {
  it('more than 16 MiB of damage with valid records after it: they are kept and delivered, not cut off', async () => {
    const big = { segment_bytes: 64 * 1024 * 1024, max_bytes: 256 * 1024 * 1024, fsync: 'never' as const };
    const payload = 'x'.repeat(64 * 1024);
    const count = 320; // 20 MiB
    const dir = await filledQueue(count, (i) => `${i}:${payload}`, big);
    const [only] = await segments(dir);
    const file = join(dir, only!);
    const size = (await stat(file)).size;
    const records = await recordsOf(file);
    const from = records[10]!.offset + 100;
    const to = from + 17 * 1024 * 1024;
    await overwrite(file, from, Buffer.alloc(to - from));
    const lost = records.filter((r) => r.offset + r.bytes > from && r.offset < to).map((r) => r.id);
    expect(lost.at(-1)).toBeLessThan(count - 10);

    const { queue, hooks, recovery } = await openQueue(dir, big);
    expect(recovery.truncatedBytes).toBe(0);
    expect((await stat(file)).size).toBe(size);
    expect(await readIds(queue)).toEqual(allBut(count, lost));
    expect(hooks.drops.corrupt).toBe(1); // in the file being written a stretch counts as one message
  });
});
