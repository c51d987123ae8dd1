// Keeps a damaged journal as evidence before the start-up compaction replaces it: <journal>.corrupt-<time>.
// A hard link costs no space (it still works on a full disk) and keeps the bytes exactly as they were, since
// compaction renames a new file over the journal instead of writing into it. Only the newest few are kept.
import { constants, copyFileSync, linkSync, readdirSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const KEPT_DAMAGED_COPIES = 3;

export interface DamagedCopy {
  /** The copy, or undefined when none could be made. */
  path: string | undefined;
  /** Why no copy could be made. */
  error?: string;
}

/** ISO 8601 basic format (no colons, which scp and SMB shares take badly); sorts by time. */
function stamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '');
}

function copyName(journal: string, now: Date, attempt: number): string {
  return `${journal}.corrupt-${stamp(now)}${attempt > 0 ? `-${attempt}` : ''}`;
}

/** Links (or, where links are not supported, copies) the journal to a free `.corrupt-<time>` name. */
function linkOrCopy(journal: string, now: Date): string {
  for (let attempt = 0; ; attempt++) {
    const target = copyName(journal, now, attempt);
    try {
      linkSync(journal, target);
      return target;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code === 'ENOENT') throw err;
      copyFileSync(journal, target, constants.COPYFILE_EXCL);
      return target;
    }
  }
}

export function keepDamagedCopy(journal: string, now = new Date()): DamagedCopy {
  let path: string;
  try {
    path = linkOrCopy(journal, now);
  } catch (err) {
    return { path: undefined, error: err instanceof Error ? err.message : String(err) };
  }
  pruneDamagedCopies(journal);
  return { path };
}

/** Removes all but the newest KEPT_DAMAGED_COPIES copies of `journal`. */
export function pruneDamagedCopies(journal: string): void {
  const prefix = `${basename(journal)}.corrupt-`;
  const dir = dirname(journal);
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.startsWith(prefix));
  } catch {
    return;
  }
  names.sort();
  for (const name of names.slice(0, Math.max(0, names.length - KEPT_DAMAGED_COPIES))) {
    try {
      unlinkSync(join(dir, name));
    } catch {
      // left for the next start
    }
  }
}

export function removeDamagedCopy(copy: string): void {
  try {
    unlinkSync(copy);
  } catch {
    // the journal itself still holds the damage
  }
}
