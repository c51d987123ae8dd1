import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJournal } from '../../gateway/broker/journal-read.js';
import { JournalPersistence } from '../../gateway/broker/persistence.js';
import { retainedPacket, strictJournal } from './journal-fixtures.js';

/** Compacts after 2 KiB, so that a test writes enough to see it compact while running. */
const open = (dir: string) => strictJournal(dir, { compactAfterBytes: 2048 });

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
    for (let i = 0; i < 500; i++) await p.storeRetained(retainedPacket(`t/${i % 3}`, `value-${i}`));
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
    const packet = (n: number) => ({ ...retainedPacket('q/x', String(n)), retain: false, brokerCounter: n });
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

  it('replays subscriptions, unsubscribes and session cleanups', async () => {
    const p = open(dir);
    await p.open();
    await p.addSubscriptions({ id: 'a' }, [
      { topic: 'x/#', qos: 1 },
      { topic: 'y/+', qos: 2 },
    ]);
    await p.removeSubscriptions({ id: 'a' }, ['x/#']);
    await p.addSubscriptions({ id: 'b' }, [{ topic: 'z', qos: 1 }]);
    await p.cleanSubscriptions({ id: 'b' });
    p.close();
    const q = open(dir);
    expect(await q.open()).toMatchObject({ sessions: 1 });
    const api = q as unknown as {
      subscriptionsByClient(c: { id: string }): Promise<Array<{ topic: string; qos: number }>>;
      subscriptionsByTopic(t: string): Promise<Array<{ clientId: string }>>;
    };
    expect((await api.subscriptionsByClient({ id: 'a' })).map((s) => [s.topic, s.qos])).toEqual([['y/+', 2]]);
    expect(await api.subscriptionsByClient({ id: 'b' })).toEqual([]);
    expect((await api.subscriptionsByTopic('y/1')).map((s) => s.clientId)).toEqual(['a']);
    expect(await api.subscriptionsByTopic('x/1')).toEqual([]);
    q.close();
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
      await limited.outgoingEnqueueCombi([{ clientId: 'a' }, { clientId: 'b' }], retainedPacket('x', String(n)));
    }
    expect(dropped).toEqual(['a', 'b', 'a', 'b']);
  });
});

describe('broker journal replay of damaged files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'z2m-journal-fuzz-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('skips records of the wrong shape and keeps the good ones', async () => {
    const good = { o: 'r', k: { cmd: 'publish', topic: 'ok/1', payload: Buffer.from('v').toString('base64'), qos: 0 } };
    const bad = [
      { o: 'r', k: null },
      { o: 's', c: 'x', s: 'not-an-array' },
      { o: 'q', c: 5, k: { cmd: 'publish' } },
      { o: 'x', c: 'x', i: -1 },
      { o: 'z' },
      [1, 2, 3],
      'just a string',
      { o: 'm', c: 'nobody', k: { cmd: 'publish', brokerId: 'b', brokerCounter: 1, messageId: 3 } },
    ];
    await writeFile(join(dir, 'journal.jsonl'), `${[good, ...bad].map((r) => JSON.stringify(r)).join('\n')}\n`);
    const p = open(dir);
    const stats = await p.open();
    // Seven lines are refused when read; the 'm' record is valid but updates a packet that was never queued.
    expect(stats).toMatchObject({ records: 2, skipped: 8, retained: 1 });
    p.close();
  });

  it('never throws on randomly mutated journals', async () => {
    const seedStore = open(dir);
    await seedStore.open();
    await seedStore.addSubscriptions({ id: 'c' }, [{ topic: 'a/#', qos: 1 }]);
    for (let n = 1; n <= 5; n++) {
      await seedStore.storeRetained(retainedPacket(`r/${n}`, `v${n}`));
      await seedStore.outgoingEnqueueCombi([{ clientId: 'c' }], {
        ...retainedPacket('a/b', String(n)),
        brokerCounter: n,
      });
    }
    seedStore.close();
    const original = await readFile(join(dir, 'journal.jsonl'));
    for (let round = 0; round < 100; round++) {
      const mutated = Buffer.from(original);
      const flips = 1 + Math.floor(Math.random() * 8);
      for (let f = 0; f < flips; f++) {
        mutated[Math.floor(Math.random() * mutated.length)] = Math.floor(Math.random() * 256);
      }
      await writeFile(join(dir, 'journal.jsonl'), mutated);
      const p = open(dir);
      const stats = await p.open();
      expect(stats.records).toBeLessThanOrEqual(mutated.toString('utf8').split('\n').length);
      expect(stats.retained).toBeLessThanOrEqual(5);
      // Whatever survived, the store keeps working.
      await p.storeRetained(retainedPacket('after/fuzz', 'x'));
      const queue = [];
      for await (const item of p.outgoingStream({ id: 'c' })) queue.push(item);
      expect(queue.length).toBeLessThanOrEqual(5);
      p.close();
    }
  });
});
