// Replaces a file so that a crash leaves either the old or the new content, never a torn one:
// write a temp file beside it, fsync it, rename it over the target, fsync the directory.
// A symlink stays a symlink (a Kubernetes ConfigMap mount, a dotfiles checkout): the file it points to is
// the one replaced, with the temp file beside that file so the rename stays on one file system.
import { open, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const READ_ONLY = new Set(['EROFS', 'EACCES', 'EPERM']);

export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const target = await realpath(file).catch(() => file); // not there yet: create it
  try {
    await replace(target, content);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined || !READ_ONLY.has(code)) throw err;
    const real = target === file ? '' : ` (a link to ${target})`;
    throw new Error(
      `the config file ${file}${real} is read-only (${code}; mounted :ro, or a ConfigMap?): ` +
        'make it writable for the gateway, or make the change in the file by hand and reload',
    );
  }
}

async function replace(file: string, content: string): Promise<void> {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const mode = await stat(file).then(
    (s) => s.mode & 0o777,
    () => 0o600,
  );
  const handle = await open(tmp, 'w', mode);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  } finally {
    await dirHandle.close();
  }
}
