// Replaces the config file atomically (gateway/replace-file.ts) and says what to do when it is read-only.
// A symlink stays a symlink (a Kubernetes ConfigMap mount, a dotfiles checkout): the file it points to is
// the one replaced, with the temp file beside that file so the rename stays on one file system.
import { realpath } from 'node:fs/promises';
import { replaceFile } from '../replace-file.js';

const READ_ONLY = new Set(['EROFS', 'EACCES', 'EPERM']);

export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const target = await realpath(file).catch(() => file); // not there yet: create it
  try {
    await replaceFile(target, content);
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
