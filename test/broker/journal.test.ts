import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJournal } from '../../gateway/broker/journal-file.js';
import { JournalPersistence } from '../../gateway/broker/persistence.js';

function retained(topic: string, payload: string) {
  return {
    cmd: 'publish',
    brokerId: 'b',
    brokerCounter: 1,
    topic,
    payload: Buffer.from(payload),
    qos: 1,
    retain: true,
  };
}

function open(dir: string, compactAfterBytes = 2048) {
  return new JournalPersistence({
    dir,
    maxQueued: 10,
    onQueueFull: () => {},
    onError: (err) => {
      throw err;
    },
    compactAfterBytes,
  });
}

describe('broker journal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'z2m-journal-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('compacts while running so the file stays bounded by the live state', async () => {
    const p = open(dir);
    await p.open();
    for (let i = 0; i < 500; i++) await p.storeRetained(retained(`t/${i % 3}`, `value-${i}`));
    const size = (await stat(join(dir, 'journal.jsonl'))).size;
    expect(size).toBeLessThan(4 * 2048);
    p.close();
    const q = open(dir);
    const stats = await q.open();
    expect(stats).toMatchObject({ retained: 3, skipped: 0 });
    const { records } = readJournal(join(dir, 'journal.jsonl'));
    const payloads = records.map((r) => Buffer.from((r as { k: { payload: string } }).k.payload, 'base64').toString());
    expect(payloads.sort()).toEqual(['value-497', 'value-498', 'value-499']);
    q.close();
  });

  it('replays queues, their updates and acknowledgements exactly', async () => {
    const p = open(dir);
    await p.open();
    const client = { id: 'c1' };
    const packet = (n: number) => ({ ...retained('q/x', String(n)), retain: false, brokerCounter: n });
    for (const n of [1, 2, 3]) await p.outgoingEnqueueCombi([{ clientId: 'c1' }], packet(n));
    await p.outgoingUpdate(client, { ...packet(1), messageId: 11 });
    await p.outgoingUpdate(client, { ...packet(2), messageId: 12 });
    await p.outgoingClearMessageId(client, { cmd: 'puback', messageId: 11 });
    // QoS 2 outgoing: PUBREC replaces the publish by a pubrel with the same id.
    await p.outgoingUpdate(client, { cmd: 'pubrel', messageId: 12 });
    await p.incomingStorePacket(client, { ...packet(9), messageId: 99 });
    p.close();
    const q = open(dir);
    await q.open();
    const queue: Array<{ cmd: string; messageId?: number; brokerCounter?: number }> = [];
    for await (const item of q.outgoingStream(client)) queue.push(item);
    expect(queue.map((i) => [i.cmd, i.messageId])).toEqual([
      ['pubrel', 12],
      ['publish', undefined],
    ]);
    expect(queue[1]?.brokerCounter).toBe(3);
    expect(await q.incomingGetPacket(client, { cmd: 'pubrel', messageId: 99 })).toMatchObject({ topic: 'q/x' });
    q.close();
    expect((await readFile(join(dir, 'journal.jsonl'), 'utf8')).split('\n').length).toBe(4);
  });

  it('enforces the queue limit per client', async () => {
    const dropped: string[] = [];
    const limited = new JournalPersistence({
      dir: undefined,
      maxQueued: 2,
      onQueueFull: (c) => dropped.push(c),
      onError: () => {},
    });
    await limited.open();
    for (let n = 1; n <= 4; n++) {
      await limited.outgoingEnqueueCombi([{ clientId: 'a' }, { clientId: 'b' }], retained('x', String(n)));
    }
    expect(dropped).toEqual(['a', 'b', 'a', 'b']);
  });
});
