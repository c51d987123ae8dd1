// The broker journal on a full disk: writes cut short by ENOSPC leave no torn line, the journal catches up from
// memory once space is back, failures are counted and logged rate-limited, and a full disk does not stop a start.
import { appendFile, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PersistenceEvent } from '../../gateway/broker/broker.js';
import { readJournal } from '../../gateway/broker/journal-read.js';
import { JournalPersistence } from '../../gateway/broker/persistence.js';
import { fsFaults } from './fs-faults.js';
import { collect, endClients, startTestBroker, type TestBroker } from './helpers.js';
import { retainedPacket } from './journal-fixtures.js';

vi.mock('node:fs', async (importOriginal) =>
  (await import('./fs-faults.js')).withFaults(await importOriginal<typeof import('node:fs')>()),
);

const DISK_FULL = "disk full: free space (the upstream queue's bridge.queue.max_bytes may be what filled it)";

type Rec = { o: string; k?: { topic?: string; payload?: string } };

function retainedTopics(path: string): string[] {
  return (readJournal(path).records as Rec[])
    .filter((r) => r.o === 'r')
    .map((r) => r.k?.topic ?? '')
    .sort();
}

let dir: string;
let journal: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'z2m-disk-full-'));
  journal = join(dir, 'broker', 'journal.jsonl');
});
afterEach(async () => {
  fsFaults.clear();
  await rm(dir, { recursive: true, force: true });
});

describe('broker journal writes on a full disk', () => {
  function open(errors: Array<[string, string]>, recovered: string[]) {
    return new JournalPersistence({
      dir: join(dir, 'broker'),
      maxQueued: 10,
      onQueueFull: () => {},
      onError: (err, op) => errors.push([op, (err as NodeJS.ErrnoException).code ?? '']),
      onRecovered: () => recovered.push('recovered'),
      syncIntervalMs: 60_000,
    });
  }

  it('cuts a write that ENOSPC cut short, and rewrites what it lost once a write succeeds again', async () => {
    const errors: Array<[string, string]> = [];
    const recovered: string[] = [];
    const p = open(errors, recovered);
    await p.open();
    await p.storeRetained(retainedPacket('a/1', 'one'));
    const before = await readFile(journal);

    // The kernel takes 10 bytes of the record, then reports the disk full.
    fsFaults.failWrites((path) => path === journal, 'ENOSPC', 10);
    await p.storeRetained(retainedPacket('a/2', 'two'));
    expect(errors).toEqual([['write', 'ENOSPC']]);
    expect(await readFile(journal)).toEqual(before);

    fsFaults.clear();
    await p.storeRetained(retainedPacket('a/3', 'three'));
    expect(recovered).toEqual(['recovered']);
    expect(readJournal(journal).skipped).toBe(0);
    expect(retainedTopics(journal)).toEqual(['a/1', 'a/2', 'a/3']);
    p.close();

    const q = open([], []);
    expect(await q.open()).toMatchObject({ skipped: 0, retained: 3 });
    q.close();
  });

  it('starts the next record on a line of its own when the torn write cannot be cut off', async () => {
    const errors: Array<[string, string]> = [];
    const p = open(errors, []);
    await p.open();
    await p.storeRetained(retainedPacket('a/1', 'one'));
    fsFaults.failWrites((path) => path === journal, 'ENOSPC', 10);
    fsFaults.failTruncate();
    // The catch-up compaction keeps failing too, so the appended record is what a restart reads.
    fsFaults.failWrites((path) => path.endsWith('.tmp'));
    await p.storeRetained(retainedPacket('a/2', 'two'));
    fsFaults.clear();
    fsFaults.failWrites((path) => path.endsWith('.tmp'));
    await p.storeRetained(retainedPacket('a/3', 'three'));
    expect(errors.map(([op]) => op)).toEqual(['write', 'compact']);

    const read = readJournal(journal);
    expect(read.skipped).toBe(1); // the 10 torn bytes, alone on their line
    expect(read.skippedBytes).toBe(11);
    expect(retainedTopics(journal)).toEqual(['a/1', 'a/3']);
    fsFaults.clear();
    p.close(); // a clean stop rewrites the journal: nothing is lost
    expect(retainedTopics(journal)).toEqual(['a/1', 'a/2', 'a/3']);
  });
});

describe('the broker on a full disk', () => {
  let tb: TestBroker | undefined;
  afterEach(async () => {
    await endClients();
    await tb?.stop();
    tb = undefined;
  });

  async function seed(): Promise<void> {
    tb = await startTestBroker({}, dir);
    const pub = await tb.connect();
    for (let i = 0; i < 5; i++) await pub.publishAsync(`r/${i}`, `v${i}`, { qos: 1, retain: true });
    await endClients();
    await tb.stop();
  }

  /** The retained topics a new subscriber to r/# has received so far: aedes streams them after the SUBACK, so they
   * may still be arriving after a later round trip on the same connection. */
  async function retainedOnBroker(): Promise<() => string[]> {
    const sub = await tb!.connect();
    const seen = collect(sub);
    await sub.subscribeAsync('r/#', { qos: 1 });
    return () =>
      seen.messages
        .filter((m) => m.retain)
        .map((m) => m.topic)
        .sort();
  }

  it.each(['ENOSPC', 'EDQUOT'])(
    'starts when the start-up compaction fails with %s, appending to the journal as it is',
    async (code) => {
      await seed();
      // A crash while the disk filled up left a torn last line.
      await appendFile(journal, '{"o":"r","k":{"cmd":"publ');
      const { ino } = await stat(journal);
      fsFaults.failWrites((path) => path.endsWith('journal.jsonl.tmp'), code, 100);

      tb = await startTestBroker({}, dir);
      const warning = tb.log.lines.find((l) => l.msg.startsWith('broker journal not compacted at start'));
      expect(warning).toMatchObject({ level: 40, journal, code });
      expect(warning?.msg).toContain(DISK_FULL);
      expect(await readdir(join(dir, 'broker'))).not.toContain('journal.jsonl.tmp');
      // Nothing was compacted away: the damaged journal is not copied, it is still the journal.
      expect((await readdir(join(dir, 'broker'))).filter((n) => n.includes('corrupt'))).toEqual([]);

      const pub = await tb.connect();
      await pub.publishAsync('r/after', 'written on the old journal', { qos: 1, retain: true });
      await expect.poll(() => readFile(journal, 'utf8')).toContain('r/after');
      expect((await stat(journal)).ino).toBe(ino);
      await endClients();
      await tb.stop();

      fsFaults.clear();
      tb = await startTestBroker({}, dir);
      expect(tb.log.lines.find((l) => l.msg === 'broker journal had unreadable records, skipped')).toMatchObject({
        skippedLines: 1,
      });
      await expect.poll(await retainedOnBroker()).toEqual(['r/0', 'r/1', 'r/2', 'r/3', 'r/4', 'r/after']);
    },
  );

  it('counts failed writes, logs them rate-limited without a stack, and reports the failure and the recovery', async () => {
    const registry = new Registry();
    const events: PersistenceEvent[] = [];
    tb = await startTestBroker({}, dir, { registry, onPersistenceEvent: (e) => events.push(e) });
    const pub = await tb.connect();
    fsFaults.failWrites((path) => path.startsWith(join(dir, 'broker')));
    for (let i = 0; i < 20; i++) await pub.publishAsync(`r/${i}`, `v${i}`, { qos: 1, retain: true });

    const diskFull = async () => {
      const metric = await registry.getSingleMetricAsString('zephyr2mqtt_broker_persistence_errors_total');
      return Number(/reason="disk_full"} (\d+)/.exec(metric)?.[1]);
    };
    // aedes acknowledges a QoS 1 publish before its retained message is journaled: the last write may still come.
    await expect.poll(diskFull).toBeGreaterThanOrEqual(20);
    const logged = tb.log.lines.filter((l) => l.msg.startsWith('broker persistence write failed'));
    expect(logged.length).toBe(5);
    expect(logged[0]).toMatchObject({ level: 40, code: 'ENOSPC', path: journal, op: 'write' });
    expect(logged[0]?.msg).toContain(DISK_FULL);
    expect(JSON.stringify(logged)).not.toContain('stack');
    expect(events).toEqual([expect.objectContaining({ event: 'journal_write_failed', code: 'ENOSPC', path: journal })]);

    fsFaults.clear();
    await pub.publishAsync('r/back', 'space again', { qos: 1, retain: true });
    await expect.poll(() => events.length).toBe(2);
    expect(events[1]).toMatchObject({ event: 'journal_recovered', path: journal });
    expect(events[1]?.event === 'journal_recovered' && events[1].failures).toBeGreaterThanOrEqual(20);
    expect(tb.log.lines.some((l) => l.msg.startsWith('broker journal writes again'))).toBe(true);

    // What was published while the disk was full survives a restart.
    await endClients();
    await tb.stop();
    tb = await startTestBroker({}, dir);
    expect(tb.log.lines.find((l) => l.msg === 'broker persistence loaded')).toMatchObject({ skipped: 0, retained: 21 });
  });
});
