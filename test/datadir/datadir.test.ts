import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CURRENT_DATA_FORMAT,
  DataDirError,
  type DataFormatSpec,
  FORMAT_FILE,
  type FormatFile,
  prepareDataDir,
} from '../../gateway/datadir.js';
import { captureLogger } from '../broker/helpers.js';

async function marker(dir: string): Promise<FormatFile> {
  return JSON.parse(await readFile(join(dir, FORMAT_FILE), 'utf8')) as FormatFile;
}

// Version N-1 as it exists today, and a simulated version N that moves state.json into a sub-directory.
const v1: DataFormatSpec = { ...CURRENT_DATA_FORMAT, format: 1, readableFrom: 1, version: '1.0.0' };
const moveState = async (dir: string) => {
  await mkdir(join(dir, 'state'), { recursive: true });
  await rename(join(dir, 'state.json'), join(dir, 'state', 'devices.json')).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
};
const v2Additive: DataFormatSpec = {
  format: 2,
  readableFrom: 1,
  migrations: { ...v1.migrations, 2: moveState },
  version: '2.0.0',
};
const v2Breaking: DataFormatSpec = { ...v2Additive, readableFrom: 2 };

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'z2m-datadir-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('prepareDataDir', () => {
  it('creates a missing data dir and stamps the current format and writer version', async () => {
    const dir = join(root, 'nested', 'data');
    const { logger } = captureLogger('info');
    await expect(prepareDataDir(dir, logger)).resolves.toEqual({ format: CURRENT_DATA_FORMAT.format });
    const m = await marker(dir);
    expect(m.format).toBe(CURRENT_DATA_FORMAT.format);
    expect(m.readable_from).toBe(CURRENT_DATA_FORMAT.readableFrom);
    expect(m.written_by).toBe(CURRENT_DATA_FORMAT.version);
    expect(Number.isNaN(Date.parse(m.updated_at))).toBe(false);
  });

  it('stamps a data dir from before format markers existed without touching its files', async () => {
    await writeFile(join(root, 'retained.db'), 'broker data');
    await expect(prepareDataDir(root, captureLogger('info').logger, v1)).resolves.toEqual({ format: 1 });
    expect(await readFile(join(root, 'retained.db'), 'utf8')).toBe('broker data');
    expect((await marker(root)).format).toBe(1);
  });

  it('is idempotent and records a new writer version without changing the format', async () => {
    await prepareDataDir(root, captureLogger('info').logger, v1);
    await prepareDataDir(root, captureLogger('info').logger, { ...v1, version: '1.0.1' });
    const m = await marker(root);
    expect(m).toMatchObject({ format: 1, written_by: '1.0.1' });
  });

  it('upgrade: version N migrates data written by N-1 and logs the step', async () => {
    await prepareDataDir(root, captureLogger('info').logger, v1);
    await writeFile(join(root, 'state.json'), '{"dev1":{"temperature":21.5}}');
    const { logger, lines } = captureLogger('info');
    await expect(prepareDataDir(root, logger, v2Additive)).resolves.toEqual({ format: 2 });
    expect(await readFile(join(root, 'state', 'devices.json'), 'utf8')).toBe('{"dev1":{"temperature":21.5}}');
    await expect(stat(join(root, 'state.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await marker(root)).toMatchObject({ format: 2, readable_from: 1, written_by: '2.0.0' });
    expect(lines.some((l) => l.msg === 'migrating data dir' && l.from === 1 && l.to === 2)).toBe(true);
  });

  it('rollback: N-1 starts on data written by N when N declares it readable, and leaves the marker at N', async () => {
    await prepareDataDir(root, captureLogger('info').logger, v2Additive);
    const { logger, lines } = captureLogger('info');
    await expect(prepareDataDir(root, logger, v1)).resolves.toEqual({ format: 2 });
    expect(await marker(root)).toMatchObject({ format: 2, written_by: '2.0.0' });
    expect(lines.some((l) => l.level === 40 && l.dataFormat === 2 && l.ownFormat === 1)).toBe(true);
  });

  it('rollback: N-1 refuses data written by N when N is not readable by it, naming the fix', async () => {
    await prepareDataDir(root, captureLogger('info').logger, v2Breaking);
    const attempt = prepareDataDir(root, captureLogger('info').logger, v1);
    await expect(attempt).rejects.toBeInstanceOf(DataDirError);
    await expect(attempt).rejects.toThrow(
      /data format 2 written by zephyr2mqtt 2\.0\.0, which zephyr2mqtt 1\.0\.0 \(data format 1\) cannot read.*Fix: run zephyr2mqtt 2\.0\.0 or newer/,
    );
    expect((await marker(root)).format).toBe(2);
  });

  it('a failing migration leaves the old format in place and a later start retries it', async () => {
    await prepareDataDir(root, captureLogger('info').logger, v1);
    const broken: DataFormatSpec = {
      ...v2Additive,
      migrations: {
        ...v1.migrations,
        2: async () => {
          throw new Error('disk full');
        },
      },
    };
    await expect(prepareDataDir(root, captureLogger('info').logger, broken)).rejects.toThrow(
      /from format 1 to 2 failed: disk full.*left in format 1/,
    );
    expect((await marker(root)).format).toBe(1);
    await expect(prepareDataDir(root, captureLogger('info').logger, v2Additive)).resolves.toEqual({ format: 2 });
  });

  it('refuses when a migration step is missing', async () => {
    await prepareDataDir(root, captureLogger('info').logger, v1);
    const gap: DataFormatSpec = { format: 3, readableFrom: 3, migrations: { 3: async () => {} }, version: '3.0.0' };
    await expect(prepareDataDir(root, captureLogger('info').logger, gap)).rejects.toThrow(/no migration to format 2/);
  });

  it('refuses a corrupt or foreign FORMAT.json with a DataDirError', async () => {
    await writeFile(join(root, FORMAT_FILE), '{not json');
    await expect(prepareDataDir(root, captureLogger('info').logger)).rejects.toThrow(/FORMAT\.json is not valid JSON/);
    await writeFile(join(root, FORMAT_FILE), '{"format":"two"}');
    await expect(prepareDataDir(root, captureLogger('info').logger)).rejects.toThrow(
      /is not a data format marker.*format/,
    );
  });

  it('refuses a data dir path that is not a usable directory', async () => {
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    await expect(prepareDataDir(file, captureLogger('info').logger)).rejects.toThrow(
      /is not a readable and writable directory.*Fix:/,
    );
    await expect(prepareDataDir(join(file, 'data'), captureLogger('info').logger)).rejects.toBeInstanceOf(DataDirError);
  });
});
