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
  pruneDamagedCopies(journal, path);
  return { path };
}

/**
 * Removes all but KEPT_DAMAGED_COPIES copies of `journal`: `kept` (the copy just made) and the newest others by name.
 * `kept` is spared by path, not by its name's time: a gateway without a real-time clock may start in 1970.
 */
export function pruneDamagedCopies(journal: string, kept?: string): void {
  const prefix = `${basename(journal)}.corrupt-`;
  const dir = dirname(journal);
  const keptName = kept === undefined ? undefined : basename(kept);
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.startsWith(prefix) && name !== keptName);
  } catch {
    return;
  }
  names.sort();
  const others = keptName === undefined ? KEPT_DAMAGED_COPIES : KEPT_DAMAGED_COPIES - 1;
  for (const name of names.slice(0, Math.max(0, names.length - others))) {
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
