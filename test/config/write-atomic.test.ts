// Onboarding writes the config file in place: a symlinked file (a Kubernetes ConfigMap) stays a link, and a
// read-only one gives a message that names the file and the way out.
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { writeFileAtomic } from '../../gateway/config/write-atomic.js';

/** Lets a test make opening a file for writing fail the way a read-only mount does. */
const failWrites = vi.hoisted(() => ({ code: undefined as string | undefined }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof fs.open = (path, flags, mode) => {
    if (failWrites.code && flags === 'w')
      return Promise.reject(Object.assign(new Error(`${failWrites.code}: ${String(path)}`), { code: failWrites.code }));
    return fs.open(path, flags, mode);
  };
  return { ...fs, open };
});

describe('writeFileAtomic', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'z2m-write-'));
  });
  afterEach(async () => {
    failWrites.code = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('replaces the file a symlink points to and keeps the link (ConfigMap layout)', async () => {
    // kubelet: <dir>/gateway.yaml -> ..data/gateway.yaml, ..data -> ..2026_01
    await mkdir(join(dir, '..2026_01'));
    await writeFile(join(dir, '..2026_01', 'gateway.yaml'), 'version: 1\n', { mode: 0o640 });
    await symlink('..2026_01', join(dir, '..data'));
    await symlink('..data/gateway.yaml', join(dir, 'gateway.yaml'));

    await writeFileAtomic(join(dir, 'gateway.yaml'), 'version: 1\ndevices: []\n');
    expect((await lstat(join(dir, 'gateway.yaml'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(dir, 'gateway.yaml'))).toBe('..data/gateway.yaml');
    expect(await readFile(join(dir, '..2026_01', 'gateway.yaml'), 'utf8')).toBe('version: 1\ndevices: []\n');
    expect((await lstat(join(dir, '..2026_01', 'gateway.yaml'))).mode & 0o777).toBe(0o640);
    // No temp file left beside the link or the real file.
    expect(await readdir(dir)).toEqual(expect.arrayContaining(['..2026_01', '..data', 'gateway.yaml']));
    expect(await readdir(dir)).toHaveLength(3);
    expect(await readdir(join(dir, '..2026_01'))).toEqual(['gateway.yaml']);
  });

  it('creates a file that does not exist yet', async () => {
    await writeFileAtomic(join(dir, 'new.yaml'), 'version: 1\n');
    expect(await readFile(join(dir, 'new.yaml'), 'utf8')).toBe('version: 1\n');
  });

  it('a read-only file or mount: the message names the file and what to do', async () => {
    const file = join(dir, 'gateway.yaml');
    await writeFile(file, 'version: 1\n');
    for (const code of ['EROFS', 'EACCES', 'EPERM']) {
      failWrites.code = code;
      await expect(writeFileAtomic(file, 'changed')).rejects.toThrow(
        `the config file ${file} is read-only (${code}; mounted :ro, or a ConfigMap?): ` +
          'make it writable for the gateway, or make the change in the file by hand and reload',
      );
    }
    failWrites.code = 'ENOSPC';
    await expect(writeFileAtomic(file, 'changed')).rejects.toThrow(/^ENOSPC/);
    expect(await readFile(file, 'utf8')).toBe('version: 1\n');
  });
});
