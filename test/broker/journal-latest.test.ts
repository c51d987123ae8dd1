import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJournal } from '../../gateway/broker/journal-read.js';
import { retainedPacket, strictJournal } from './journal-fixtures.js';

type Rec = { o: string; c?: string; k?: { topic?: string; payload?: string } };

describe('broker journal: retained messages are latest-wins per write', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'z2m-journal-latest-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one record per topic for updates in the same turn, and every update is on disk when it resolves', async () => {
    const p = strictJournal(dir);
    await p.open();
    const client = { id: 'c1' };
    // One turn: 300 updates over 3 topics, interleaved with a subscription and a retained delete.
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) {
      writes.push(p.storeRetained(retainedPacket(`t/${i % 3}`, `v-${i}`, 0)));
      if (i === 150) writes.push(p.addSubscriptions(client, [{ topic: 'x/#', qos: 1 }]));
    }
    writes.push(p.storeRetained(retainedPacket('gone', 'soon', 0)));
    writes.push(p.storeRetained(retainedPacket('gone', '', 0)));
    await Promise.all(writes);
    // Read without closing: what a SIGKILL now would leave behind.
    const records = readJournal(join(dir, 'journal.jsonl')).records as Rec[];
    const written = records.filter((r) => r.o === 'r');
    expect(written.map((r) => r.k?.topic).sort()).toEqual(['gone', 't/0', 't/1', 't/2']);
    expect(records.filter((r) => r.o === 's' && r.c === 'c1')).toHaveLength(1);

    // A later turn appends again (not merged into what is already written).
    await p.storeRetained(retainedPacket('t/0', 'later', 0));
    expect((readJournal(join(dir, 'journal.jsonl')).records as Rec[]).filter((r) => r.o === 'r')).toHaveLength(5);
    p.close();

    const q = strictJournal(dir);
    const stats = await q.open();
    expect(stats).toMatchObject({ retained: 3, sessions: 1, skipped: 0 });
    const replayed = (readJournal(join(dir, 'journal.jsonl')).records as Rec[]).filter((r) => r.o === 'r');
    const byTopic = Object.fromEntries(
      replayed.map((r) => [r.k?.topic, Buffer.from(r.k?.payload ?? '', 'base64').toString()]),
    );
    expect(byTopic).toEqual({ 't/0': 'later', 't/1': 'v-298', 't/2': 'v-299' });
    q.close();
  });
});
