// A first run with sudo leaves root-owned files in the data dir. The gateway, running as its own user, must refuse
// to start naming the first such file and the chown that fixes it, not fail later with a bare EACCES.
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { giveToNobody, NOBODY, requireRoot, runAsNobody } from './run-as-nobody.js';

/** prepareDataDir as nobody: 'ok' or the error's message. */
function prepareAsNobody(dir: string): Promise<string> {
  return runAsNobody(`
    import { pino } from 'pino';
    import { prepareDataDir } from './gateway/datadir.ts';
    prepareDataDir(${JSON.stringify(dir)}, pino({ level: 'silent' })).then(
      () => { console.log('ok'); process.exit(0); },
      (err) => { console.log(err.name + ': ' + err.message); process.exit(0); },
    );
  `);
}

const fix = (dir: string) => `Fix: chown -R ${NOBODY} ${dir}: a first run with sudo leaves root-owned files`;

describe('data dir entries the gateway user cannot use', () => {
  beforeAll(requireRoot);
  let root: string;
  let dir: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'z2m-datadir-owner-'));
    dir = join(root, 'data');
    await mkdir(join(dir, 'upstream', 'queue'), { recursive: true });
    await mkdir(join(dir, 'broker'));
    await writeFile(join(dir, 'broker', 'journal.jsonl'), '');
    await giveToNobody(root, dir);
    for (const sub of ['upstream', join('upstream', 'queue'), 'broker', join('broker', 'journal.jsonl')]) {
      await chown(join(dir, sub), NOBODY, NOBODY);
    }
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('starts when everything is the gateway user’s', async () => {
    await expect(prepareAsNobody(dir)).resolves.toBe('ok');
  });

  it('names a root-owned upstream queue segment and the chown fix', async () => {
    const segment = join(dir, 'upstream', 'queue', '0000000000003013.seg');
    await writeFile(segment, 'queued', { mode: 0o644 });
    expect(await prepareAsNobody(dir)).toBe(
      `DataDirError: data dir: ${segment} cannot be read and written by uid ${NOBODY} (EACCES, owned by uid 0). ${fix(dir)}`,
    );
  });

  it('names a root-owned upstream queue folder', async () => {
    await chown(join(dir, 'upstream', 'queue'), 0, 0);
    expect(await prepareAsNobody(dir)).toContain(`data dir: ${join(dir, 'upstream', 'queue')} cannot be read`);
  });

  it('names a root-owned broker journal', async () => {
    await chown(join(dir, 'broker', 'journal.jsonl'), 0, 0);
    expect(await prepareAsNobody(dir)).toContain(
      `data dir: ${join(dir, 'broker', 'journal.jsonl')} cannot be read and written by uid ${NOBODY}`,
    );
  });

  it('leaves a mount point’s lost+found alone', async () => {
    await mkdir(join(dir, 'lost+found'), { mode: 0o700 });
    await expect(prepareAsNobody(dir)).resolves.toBe('ok');
  });
});
