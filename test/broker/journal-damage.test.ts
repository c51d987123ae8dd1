// A damaged broker journal: the damage is reported in bytes as well as lines (a zeroed block swallows many
// records into one line), and the file is kept as <journal>.corrupt-<time> before the start-up compaction.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEPT_DAMAGED_COPIES, keepDamagedCopy } from '../../gateway/broker/journal-damage.js';
import { startTestBroker } from './helpers.js';
import { retainedPacket, strictJournal } from './journal-fixtures.js';

/** A journal of `n` retained messages of about 100 bytes each. */
async function seedJournal(dir: string, n: number): Promise<string> {
  const p = strictJournal(dir);
  await p.open();
  for (let i = 0; i < n; i++) {
    await p.storeRetained({ ...retainedPacket(`sensor/${i}`, `{"t":${i}}`), brokerCounter: i });
  }
  p.close();
  return join(dir, 'journal.jsonl');
}

async function copies(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith('journal.jsonl.corrupt-')).sort();
}

describe('broker journal damage', () => {
  let root: string;
  let dir: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'z2m-journal-damage-'));
    dir = join(root, 'broker');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reports a zeroed 4 KiB block by path, lines and bytes, and keeps the damaged file', async () => {
    const journal = await seedJournal(dir, 200);
    const damaged = await readFile(journal);
    damaged.fill(0, 8192, 8192 + 4096);
    await writeFile(journal, damaged);

    const tb = await startTestBroker({}, root);
    await tb.stop();
    const warning = tb.log.lines.find((l) => l.msg === 'broker journal had unreadable records, skipped');
    // About 40 records were in the block, yet they read as one or two lines: the bytes tell the size.
    expect(warning).toMatchObject({ level: 40, journal, skippedLines: expect.any(Number) });
    expect(warning?.skippedLines).toBeLessThanOrEqual(2);
    expect(warning?.discardedBytes).toBeGreaterThanOrEqual(4096);
    const [copy] = await copies(dir);
    expect(warning?.copy).toBe(join(dir, copy ?? ''));
    expect(copy).toMatch(/^journal\.jsonl\.corrupt-\d{8}T\d{6}\.\d{3}Z$/);
    expect(await readFile(join(dir, copy ?? ''))).toEqual(damaged);
    // The journal itself was compacted to what could be read.
    expect((await readFile(journal)).length).toBeLessThan(damaged.length);
  });

  it('keeps a journal of random bytes, which replays to nothing, instead of compacting it away', async () => {
    await seedJournal(dir, 3);
    const garbage = randomBytes(8192);
    await writeFile(join(dir, 'journal.jsonl'), garbage);
    const p = strictJournal(dir);
    const result = await p.open();
    p.close();
    // Every byte is discarded but the newlines of empty lines, which held nothing.
    const emptyLines = garbage.filter((byte, i) => byte === 0x0a && (i === 0 || garbage[i - 1] === 0x0a)).length;
    expect(result).toMatchObject({ retained: 0, discardedBytes: garbage.length - emptyLines });
    expect(result.damagedCopy?.path).toBeDefined();
    expect(await readFile(result.damagedCopy?.path ?? '')).toEqual(garbage);
    expect(await readFile(join(dir, 'journal.jsonl'), 'utf8')).toBe('');
  });

  it(`keeps only the newest ${KEPT_DAMAGED_COPIES} copies`, async () => {
    await seedJournal(dir, 1);
    const kept: string[] = [];
    for (let round = 0; round < KEPT_DAMAGED_COPIES + 2; round++) {
      await writeFile(join(dir, 'journal.jsonl'), `not json, round ${round}\n`);
      const p = strictJournal(dir);
      kept.push((await p.open()).damagedCopy?.path ?? '');
      p.close();
    }
    const names = await copies(dir);
    expect(names.map((n) => join(dir, n))).toEqual(kept.slice(-KEPT_DAMAGED_COPIES));
    expect(await readFile(join(dir, names.at(-1) ?? ''), 'utf8')).toBe(`not json, round ${KEPT_DAMAGED_COPIES + 1}\n`);
  });

  it('keeps the copy it just made when the clock says 1970 (a board without a real-time clock)', async () => {
    const journal = await seedJournal(dir, 1);
    for (const day of ['20261201', '20261202', '20261203']) {
      await writeFile(`${journal}.corrupt-${day}T000000.000Z`, 'older damage\n');
    }
    const made = keepDamagedCopy(journal, new Date(0));
    expect(made.path).toBe(`${journal}.corrupt-19700101T000000.000Z`);
    expect(await copies(dir)).toEqual([
      'journal.jsonl.corrupt-19700101T000000.000Z',
      'journal.jsonl.corrupt-20261202T000000.000Z',
      'journal.jsonl.corrupt-20261203T000000.000Z',
    ]);
  });

  it('keeps no copy of an undamaged journal', async () => {
    await seedJournal(dir, 5);
    const p = strictJournal(dir);
    expect((await p.open()).damagedCopy).toBeUndefined();
    p.close();
    expect(await copies(dir)).toEqual([]);
  });
});
