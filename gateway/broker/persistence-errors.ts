// What a failed file operation of the broker journal means for the user: a reason for the metric, and a start
// error that names the exact path and the fix.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { chownFix, errnoCode as codeOf, ownUid } from '../datadir-error.js';

export type PersistenceErrorReason = 'disk_full' | 'permission' | 'io';
export const PERSISTENCE_ERROR_REASONS: readonly PersistenceErrorReason[] = ['disk_full', 'permission', 'io'];

export const DISK_FULL_FIX =
  "disk full: free space (the upstream queue's bridge.queue.max_bytes may be what filled it)";

export function isDiskFull(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export function persistenceErrorReason(err: unknown): PersistenceErrorReason {
  if (isDiskFull(err)) return 'disk_full';
  const code = codeOf(err);
  return code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'permission' : 'io';
}

/** Why the broker cannot start on its journal under `<dataDir>/broker`, with the fix. */
export function persistenceStartError(err: unknown, dataDir: string): string {
  const code = codeOf(err);
  const path = (err as NodeJS.ErrnoException | undefined)?.path ?? join(dataDir, 'broker');
  const prefix = 'broker persistence:';
  switch (code) {
    case 'EACCES':
    case 'EPERM': {
      // A file that could not be created (the compaction's temp file): its directory is the one to fix.
      const target = existsSync(path) ? path : dirname(path);
      return `${prefix} ${target} cannot be read and written by uid ${ownUid()} (${code}). Fix: ${chownFix(dataDir)}`;
    }
    case 'EISDIR':
      return (
        `${prefix} ${path} is a directory, where the journal file belongs (EISDIR). ` +
        `Fix: remove the directory named ${basename(path)} (${path})`
      );
    case 'EEXIST':
    case 'ENOTDIR': {
      const file = code === 'ENOTDIR' ? dirname(path) : path;
      return (
        `${prefix} ${file} is a file, where the broker's directory belongs (${code}). ` +
        `Fix: move the file ${file} away or remove it (the directory is created at start)`
      );
    }
    case 'ENOSPC':
    case 'EDQUOT':
      return `${prefix} cannot write ${path} (${code}): ${DISK_FULL_FIX}`;
    case 'EROFS':
      return `${prefix} ${path} is on a read-only filesystem (EROFS). Fix: mount it read-write, or point gateway.data_dir elsewhere`;
    default:
      return `${prefix} cannot use ${path} (${code ?? (err instanceof Error ? err.message : String(err))})`;
  }
}
