// A broker that cannot use its journal refuses to start with the exact path and the fix, not the folder and an errno.
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { giveToNobody, NOBODY, requireRoot, runAsNobody } from '../datadir/run-as-nobody.js';
import { startTestBroker } from './helpers.js';

/** startBroker as nobody on `dataDir`: 'started' or the error's message. */
function startAsNobody(dataDir: string): Promise<string> {
  return runAsNobody(`
    import { pino } from 'pino';
    import { startBroker } from './gateway/broker/broker.ts';
    import { brokerConfigSchema } from './gateway/config/schema.ts';
    const config = brokerConfigSchema.parse({
      listeners: [{ type: 'mqtt', host: '127.0.0.1', port: 0 }],
      allow_anonymous: true,
    });
    startBroker({ config, logger: pino({ level: 'silent' }), dataDir: ${JSON.stringify(dataDir)} }).then(
      async (broker) => { await broker.close(); console.log('started'); },
      (err) => console.log(err.message),
    );
  `);
}

const chownFix = (dir: string) => `Fix: chown -R ${NOBODY} ${dir}: a first run with sudo leaves root-owned files`;

let root: string;
let dir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'z2m-persist-start-'));
  dir = join(root, 'data');
  await mkdir(join(dir, 'broker'), { recursive: true });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('broker persistence start errors', () => {
  it('names a directory in the journal’s place and says to remove it', async () => {
    const journal = join(dir, 'broker', 'journal.jsonl');
    await mkdir(journal);
    await expect(startTestBroker({}, dir)).rejects.toThrow(
      `broker persistence: ${journal} is a directory, where the journal file belongs (EISDIR). ` +
        `Fix: remove the directory named journal.jsonl (${journal})`,
    );
  });
});

describe('broker persistence start errors: files a first run with sudo left behind', () => {
  beforeAll(requireRoot);
  beforeEach(async () => {
    await giveToNobody(root, dir);
  });

  it('names a root-owned journal and the chown fix', async () => {
    await chown(join(dir, 'broker'), NOBODY, NOBODY);
    const journal = join(dir, 'broker', 'journal.jsonl');
    await writeFile(journal, '', { mode: 0o600 });
    expect(await startAsNobody(dir)).toBe(
      `broker persistence: ${journal} cannot be read and written by uid ${NOBODY} (EACCES). ${chownFix(dir)}`,
    );
  });

  it('names a root-owned broker folder, where the compaction cannot create its file', async () => {
    await chmod(join(dir, 'broker'), 0o755);
    expect(await startAsNobody(dir)).toBe(
      `broker persistence: ${join(dir, 'broker')} cannot be read and written by uid ${NOBODY} (EACCES). ${chownFix(dir)}`,
    );
  });

  it('starts when the files are the gateway user’s', async () => {
    await chown(join(dir, 'broker'), NOBODY, NOBODY);
    expect(await startAsNobody(dir)).toBe('started');
  });
});
