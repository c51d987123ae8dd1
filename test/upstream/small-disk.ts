// A real small filesystem (tmpfs) to fill up: ENOSPC, short writes and freed space behave as on a full disk.
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Mounts a tmpfs of `size` (mount(8) syntax: '1m') at `<dir>/small-disk`; needs root (CAP_SYS_ADMIN). */
export async function mountSmallDisk(dir: string, size: string): Promise<{ path: string; unmount(): void }> {
  const path = join(dir, 'small-disk');
  await mkdir(path);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(
      `this test mounts a ${size} tmpfs to fill a real disk and needs root (CAP_SYS_ADMIN): ${String(err)}`,
    );
  }
  return { path, unmount: () => execFileSync('umount', [path]) };
}
