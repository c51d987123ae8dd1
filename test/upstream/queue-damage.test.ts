// Damaged queue files (a flipped byte, a zeroed block, a deleted file, a broken cursor.json): the queue loses only
// what is damaged, counts it (dropped, corrupt) and says where.
import { rmSync } from 'node:fs';
import { mkdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DiskQueue } from '../../gateway/upstream/queue/disk-queue.js';
import { allBut, overwrite, readIds, recordsOf, segments } from './queue-damage-helpers.js';
import { msg, queueConfig, recordHooks } from './queue-helpers.js';
import { closeQueue, closeQueuesAfterEach, newQueueDir, openTestQueue } from './queues-under-test.js';

closeQueuesAfterEach();

const config = { segment_bytes: 64 * 1024, fsync: 'never' as const };

const openQueue = (dir: string, hooks = recordHooks()) => openTestQueue(dir, queueConfig(config), hooks);

/** A closed queue holding messages `0:xxx...` to `${count - 1}:xxx...` (1000 bytes of x each). */
async function filledQueue(count: number): Promise<string> {
  const dir = await newQueueDir();
  const { queue } = await openQueue(dir);
  for (let i = 0; i < count; i++) await queue.append(msg('t', `${i}:${'x'.repeat(1000)}`));
  await closeQueue(queue);
  return dir;
}

describe('damaged upstream queue files', () => {
  it('a flipped byte in an older file loses that one record (counted, logged with file and offset), not the rest of the file', async () => {
    const dir = await filledQueue(200);
    const [first] = await segments(dir);
    const file = join(dir, first!);
    const victim = (await recordsOf(file))[10]!;
    await overwrite(file, victim.offset + 100, Buffer.from('#'));

    const { queue, hooks } = await openQueue(dir);
    expect(await readIds(queue)).toEqual(allBut(200, [victim.id]));
    expect(hooks.drops.corrupt).toBe(1);
    expect(hooks.warnings).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ file, offset: victim.offset, count: 1 }) }),
    ]);
  });

  it('a flipped byte in the file being written: that record is lost, the file is not cut and keeps counting', async () => {
    const dir = await filledQueue(40);
    const [only] = await segments(dir);
    const file = join(dir, only!);
    const size = (await stat(file)).size;
    const victim = (await recordsOf(file))[5]!;
    await overwrite(file, victim.offset + 50, Buffer.from('#'));

    const { queue, hooks, recovery } = await openQueue(dir);
    expect(recovery).toEqual({ truncatedBytes: 0, depth: 40 });
    expect((await stat(file)).size).toBe(size);
    await queue.append(msg('t', '40:after'));
    expect(await readIds(queue)).toEqual(allBut(41, [victim.id]));
    expect(hooks.drops.corrupt).toBe(1);
    expect(hooks.warnings[0]?.message).toContain(file);
    // Sequence numbers still add up: nothing left to read, the next append is read at once.
    expect(queue.unreadCount()).toBe(0);
    await queue.append(msg('t', '41:more'));
    expect(await readIds(queue)).toEqual([41]);
  });

  it.each([
    ['an impossible length', () => Buffer.from([0xff, 0xff, 0xff, 0xff])],
    ['a plausible but wrong length', () => Buffer.from([0x40, 0x01, 0, 0])],
  ])('a damaged length field (%s): the reader finds the next record again', async (_name, bytes) => {
    const dir = await filledQueue(200);
    const [first, , last] = await segments(dir);
    const older = (await recordsOf(join(dir, first!)))[7]!;
    const newer = (await recordsOf(join(dir, last!)))[3]!;
    await overwrite(join(dir, first!), older.offset, bytes());
    await overwrite(join(dir, last!), newer.offset, bytes());

    const { queue, hooks } = await openQueue(dir);
    expect(await readIds(queue)).toEqual(allBut(200, [older.id, newer.id]));
    expect(hooks.drops.corrupt).toBe(2);
  });

  it('a zeroed block in an older file: every message in it is counted, the rest of the file is read', async () => {
    const dir = await filledQueue(200);
    const [first] = await segments(dir);
    const file = join(dir, first!);
    const records = await recordsOf(file);
    const from = records[20]!.offset + 500;
    const to = from + 4096;
    await overwrite(file, from, Buffer.alloc(4096));
    const lost = records.filter((r) => r.offset + r.bytes > from && r.offset < to).map((r) => r.id);
    expect(lost.length).toBeGreaterThan(2);

    const { queue, hooks } = await openQueue(dir);
    expect(await readIds(queue)).toEqual(allBut(200, lost));
    expect(hooks.drops.corrupt).toBe(lost.length);
  });

  it('a torn tail is cut off only when nothing valid follows: counted, logged with file, offset and count', async () => {
    const dir = await filledQueue(10);
    const [only] = await segments(dir);
    const file = join(dir, only!);
    const size = (await stat(file)).size;
    await writeFile(file, Buffer.from([40, 0, 0, 0, 1, 2, 3, 4, 5]), { flag: 'a' });

    const { queue, hooks, recovery } = await openQueue(dir);
    expect(recovery).toEqual({ truncatedBytes: 9, depth: 10 });
    expect(hooks.drops.corrupt).toBe(1);
    expect(hooks.warnings).toEqual([expect.objectContaining({ details: { file, offset: size, bytes: 9, count: 1 } })]);
    expect(await readIds(queue)).toEqual(allBut(10, []));
  });

  it('a deleted older file: its messages are counted as lost and the missing file is named', async () => {
    const dir = await filledQueue(300);
    const segs = await segments(dir);
    expect(segs.length).toBeGreaterThan(3);
    const missing = join(dir, segs[1]!);
    const lost = (await recordsOf(missing)).map((r) => r.id);
    await unlink(missing);

    const { queue, hooks } = await openQueue(dir);
    expect(await readIds(queue)).toEqual(allBut(300, lost));
    expect(hooks.drops.corrupt).toBe(lost.length);
    expect(hooks.warnings).toHaveLength(1);
    expect(hooks.warnings[0]!.message).toContain(missing);
    expect(hooks.warnings[0]!.details).toMatchObject({ from: lost[0], to: lost.at(-1), count: lost.length });
  });

  it('damage before the saved cursor in the file being written: the cursor keeps its place and the count', async () => {
    const dir = await filledQueue(60);
    const { queue } = await openQueue(dir);
    await readIds(queue);
    for (let seq = 0; seq < 40; seq++) queue.ack(seq);
    await closeQueue(queue); // cursor.json: message 40
    const [only] = await segments(dir);
    const records = await recordsOf(join(dir, only!));
    await overwrite(join(dir, only!), records[10]!.offset + 20, Buffer.alloc(3000)); // records 10 to 12

    const reopened = await openQueue(dir);
    expect(reopened.recovery.depth).toBe(20);
    await reopened.queue.append(msg('t', '60:after'));
    expect(await readIds(reopened.queue)).toEqual(Array.from({ length: 21 }, (_, i) => 40 + i));
    expect(reopened.hooks.drops.corrupt).toBe(0); // delivered before the damage happened
  });
});

describe('a damaged upstream queue cursor.json', () => {
  it.each([
    ['garbage', (file: string) => writeFile(file, '\u0000\u0001garbage')],
    ['empty', (file: string) => writeFile(file, '')],
    ['a directory', (file: string) => mkdir(file)],
  ])('%s: said once with its path; everything still queued is sent again', async (_name, damage) => {
    const dir = await filledQueue(30);
    const { queue } = await openQueue(dir);
    await readIds(queue);
    for (let seq = 0; seq < 10; seq++) queue.ack(seq);
    await closeQueue(queue);
    const file = join(dir, 'cursor.json');
    await rm(file);
    await damage(file);

    const reopened = await openQueue(dir);
    expect(reopened.hooks.warnings).toEqual([expect.objectContaining({ details: { file } })]);
    expect(reopened.hooks.warnings[0]!.message).toContain('sending again from the oldest queued message');
    expect(await readIds(reopened.queue)).toEqual(allBut(30, []));
  });

  it('a directory named cursor.json: reported once (path and fix) however often the write fails, and cleared once it is gone', async () => {
    const dir = await filledQueue(30);
    const file = join(dir, 'cursor.json');
    await mkdir(file);
    const { queue, hooks } = await openQueue(dir);
    await readIds(queue);
    queue.ack(0);
    await new Promise((r) => setTimeout(r, 200)); // ten persist ticks (cursorPersistMs 20), each a failed write
    expect(hooks.cursorErrors).toHaveLength(1);
    expect(hooks.cursorErrors[0]).toMatch(new RegExp(`cannot save its read position in ${file} \\(EISDIR`));
    expect(hooks.cursorErrors[0]).toContain(`Fix: ${file} is a directory where the queue keeps a file: remove it`);

    await rm(file, { recursive: true });
    await expect.poll(() => hooks.cursorErrors.length).toBe(2);
    expect(hooks.cursorErrors[1]).toBeUndefined();
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ seq: 1 });
  });

  it('the cursor written once writes work again is the current one, not the one from before the failure', async () => {
    const dir = await filledQueue(30);
    const file = join(dir, 'cursor.json');
    await mkdir(file);
    const hooks = recordHooks();
    let queue: DiskQueue | undefined;
    hooks.cursorFailing = (error) => {
      if (error === undefined) return;
      rmSync(file, { recursive: true }); // fixed at once, while more acknowledgements come in
      for (let seq = 1; seq < 30; seq++) queue!.ack(seq);
    };
    queue = (await openQueue(dir, hooks)).queue;
    await readIds(queue);
    queue.ack(0);
    const saved = async () => JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as unknown;
    await expect.poll(saved).toMatchObject({ seq: 30 });
  });
});
