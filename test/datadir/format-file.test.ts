// FORMAT.json is written so that a crash or power loss leaves the old marker or the new one, never an empty file;
// and an empty one (left by an older version) is answered with the fix that works: delete it.
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CURRENT_DATA_FORMAT,
  DataDirError,
  FORMAT_FILE,
  prepareDataDir,
  releaseDataDir,
} from '../../gateway/datadir.js';

const fsCalls = vi.hoisted((): string[] => []);

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    open: async (...args: Parameters<typeof real.open>) => {
      const handle = await real.open(...args);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        fsCalls.push(`sync ${String(args[0])}`);
        return sync();
      };
      return handle;
    },
    rename: async (from: string, to: string) => {
      fsCalls.push(`rename ${from} -> ${to}`);
      return real.rename(from, to);
    },
  };
});

const silent = pino({ level: 'silent' });

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'z2m-format-file-'));
  fsCalls.length = 0;
});
afterEach(async () => {
  await releaseDataDir(dir);
  await rm(dir, { recursive: true, force: true });
});

describe('FORMAT.json', () => {
  it('is fsynced before it is renamed into place, and its directory after', async () => {
    await prepareDataDir(dir, silent);
    const file = join(dir, FORMAT_FILE);
    const tmp = `${file}.${process.pid}.tmp`;
    expect(fsCalls).toEqual([`sync ${tmp}`, `rename ${tmp} -> ${file}`, `sync ${dir}`]);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ format: CURRENT_DATA_FORMAT.format });
  });

  it('when empty, says to delete it; deleting it works', async () => {
    await prepareDataDir(dir, silent);
    await releaseDataDir(dir);
    await writeFile(join(dir, 'state.json'), '{}'); // not an empty data dir
    await writeFile(join(dir, FORMAT_FILE), '');
    const attempt = prepareDataDir(dir, silent);
    await expect(attempt).rejects.toBeInstanceOf(DataDirError);
    await expect(attempt).rejects.toThrow(`${join(dir, FORMAT_FILE)} is empty. Fix: delete it (it is re-created)`);

    await unlink(join(dir, FORMAT_FILE));
    await expect(prepareDataDir(dir, silent)).resolves.toEqual({ format: CURRENT_DATA_FORMAT.format });
    expect(await readFile(join(dir, 'state.json'), 'utf8')).toBe('{}');
  });

  it('still says to restore a FORMAT.json with other content from a backup', async () => {
    await writeFile(join(dir, FORMAT_FILE), '{"format":');
    await expect(prepareDataDir(dir, silent)).rejects.toThrow(/is not valid JSON.*Fix: restore it from a backup/);
  });
});
