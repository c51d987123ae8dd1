// Data directory format: <data_dir>/FORMAT.json says which data format wrote the directory, so that an
// upgrade migrates old data on start and a rollback either runs on newer data (when the newer format says it
// is readable by older code) or refuses with a message naming the fix, instead of corrupting it. Before that,
// the gateway's own files in it are checked to be usable by the user it runs as.
import { access, constants, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { chownFix, DataDirError, errorText, ownUid } from './datadir-error.js';
import { LOCK_FILE, lockDataDir, releaseDataDir } from './datadir-lock.js';
import type { Logger } from './logger.js';
import { VERSION } from './version.js';

export const FORMAT_FILE = 'FORMAT.json';
export { DataDirError, LOCK_FILE, releaseDataDir };

/** One step from format `to - 1` to `to`. Must be safe to run again if a previous run stopped half-way. */
export type DataMigration = (dir: string, logger: Logger) => Promise<void>;

export interface DataFormatSpec {
  /** The format this build writes. */
  format: number;
  /** The oldest format whose code can still read data written in `format` (additive changes keep it low). */
  readableFrom: number;
  /** migrations[k] turns format k-1 into k; format 0 is a data dir from before FORMAT.json existed. */
  migrations: Readonly<Record<number, DataMigration>>;
  /** The gateway version recorded as the writer. */
  version: string;
}

export const CURRENT_DATA_FORMAT: DataFormatSpec = {
  format: 1,
  readableFrom: 1,
  migrations: {
    // Unversioned data (broker persistence, queue, adapter state) is already format 1's layout: just stamp it.
    1: async () => {},
  },
  version: VERSION,
};

const formatFileSchema = z.object({
  format: z.number().int().nonnegative(),
  readable_from: z.number().int().nonnegative(),
  written_by: z.string(),
  updated_at: z.string(),
});
export type FormatFile = z.infer<typeof formatFileSchema>;

/**
 * Creates, locks and checks the data directory before anything else touches it. Resolves with the format the
 * directory is now in; rejects with a DataDirError (the gateway must then fail its start) when the directory
 * cannot be read, written or migrated, was written by a newer format this build cannot read, or is in use by
 * another gateway. The lock is held until releaseDataDir() or the end of the process.
 */
export async function prepareDataDir(
  dir: string,
  logger: Logger,
  spec: DataFormatSpec = CURRENT_DATA_FORMAT,
): Promise<{ format: number }> {
  await ensureWritableDir(dir);
  await lockDataDir(dir, logger);
  try {
    await checkOwnEntries(dir);
    return await checkFormat(dir, logger, spec);
  } catch (err) {
    await releaseDataDir(dir);
    throw err;
  }
}

async function checkFormat(dir: string, logger: Logger, spec: DataFormatSpec): Promise<{ format: number }> {
  const found = await readFormatFile(dir);
  if (found === undefined) {
    const empty = (await readdir(dir)).every((name) => name === LOCK_FILE);
    if (empty) {
      await writeFormatFile(dir, spec, spec.format);
      logger.info({ dir, format: spec.format }, 'data dir initialised');
      return { format: spec.format };
    }
    return migrate(dir, logger, spec, 0);
  }
  if (found.format === spec.format) {
    if (found.written_by !== spec.version) await writeFormatFile(dir, spec, spec.format);
    return { format: spec.format };
  }
  if (found.format < spec.format) return migrate(dir, logger, spec, found.format);
  if (found.readable_from <= spec.format) {
    // Newer data that this build can read: leave the marker alone so the newer version finds its own format.
    logger.warn(
      { dir, dataFormat: found.format, ownFormat: spec.format, writtenBy: found.written_by },
      'data dir was written by a newer version; running on it because that format is readable by this one',
    );
    return { format: found.format };
  }
  throw new DataDirError(
    `data dir ${dir} holds data format ${found.format} written by zephyr2mqtt ${found.written_by}, ` +
      `which zephyr2mqtt ${spec.version} (data format ${spec.format}) cannot read ` +
      `(format ${found.format} is readable from format ${found.readable_from} on). ` +
      `Fix: run zephyr2mqtt ${found.written_by} or newer again (e.g. move the image tag forward), or restore the ` +
      'backup of the data dir taken before the upgrade (docs/deploy.md, "Backup and restore").',
  );
}

async function migrate(dir: string, logger: Logger, spec: DataFormatSpec, from: number): Promise<{ format: number }> {
  for (let next = from + 1; next <= spec.format; next++) {
    const step = spec.migrations[next];
    if (!step) {
      throw new DataDirError(
        `data dir ${dir} is in data format ${from}, and zephyr2mqtt ${spec.version} has no migration to format ` +
          `${next}. Fix: upgrade through an intermediate release that migrates it, or restore a backup.`,
      );
    }
    logger.info({ dir, from: next - 1, to: next }, 'migrating data dir');
    try {
      await step(dir, logger);
    } catch (err) {
      throw new DataDirError(
        `migrating data dir ${dir} from format ${next - 1} to ${next} failed: ${errorText(err)}. ` +
          `The directory is left in format ${next - 1}; fix the cause and start again, or run the previous version.`,
      );
    }
    await writeFormatFile(dir, spec, next);
  }
  return { format: spec.format };
}

async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new DataDirError(
      `data dir ${dir} is not a readable and writable directory (${errorText(err)}). ` +
        'Fix: create it and give it to the user the gateway runs as (in the container image: uid 10001), ' +
        'or point gateway.data_dir elsewhere.',
    );
  }
}

/** Sub-directories whose entries are all the gateway's own (other parts check their own data themselves). */
const OWN_SUBDIRS = ['broker', 'upstream', join('upstream', 'queue')];
/** Entries of the data dir that are not ours to check: the lock (taken above), a mount point's lost+found. */
const NOT_CHECKED = new Set([LOCK_FILE, 'lost+found']);

/**
 * Everything directly under the data dir and its known sub-directories must be readable and writable by this
 * user: a first run with sudo leaves root-owned files, which otherwise fail later with a bare EACCES naming no
 * fix (or, in the upstream queue, only once a segment is written to). One access() per entry.
 */
async function checkOwnEntries(dir: string): Promise<void> {
  for (const sub of ['', ...OWN_SUBDIRS]) {
    const base = join(dir, sub);
    const names = await readdir(base).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
      throw notUsable(dir, base, err);
    });
    for (const name of names) {
      if (sub === '' && NOT_CHECKED.has(name)) continue;
      await checkUsable(dir, join(base, name));
    }
  }
}

async function checkUsable(dir: string, path: string): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch {
    return; // removed meanwhile, or a dangling link: whoever uses it reports that
  }
  const mode = info.isDirectory() ? constants.R_OK | constants.W_OK | constants.X_OK : constants.R_OK | constants.W_OK;
  try {
    await access(path, mode);
  } catch (err) {
    throw notUsable(dir, path, err, info.uid);
  }
}

function notUsable(dir: string, path: string, err: unknown, owner?: number): DataDirError {
  const code = (err as NodeJS.ErrnoException).code ?? errorText(err);
  const ownedBy = owner === undefined ? '' : `, owned by uid ${owner}`;
  return new DataDirError(
    `data dir: ${path} cannot be read and written by uid ${ownUid()} (${code}${ownedBy}). Fix: ${chownFix(dir)}`,
  );
}

async function readFormatFile(dir: string): Promise<FormatFile | undefined> {
  const file = join(dir, FORMAT_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DataDirError(`cannot read ${file}: ${errorText(err)}`);
  }
  if (text.trim() === '') {
    // What a crash or a full disk leaves of a marker written without fsync; the data itself is unaffected.
    throw new DataDirError(`${file} is empty. Fix: delete it (it is re-created)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DataDirError(`${file} is not valid JSON (${errorText(err)}). Fix: restore it from a backup.`);
  }
  const result = formatFileSchema.safeParse(parsed);
  if (!result.success) {
    throw new DataDirError(
      `${file} is not a data format marker (${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}). ` +
        'Fix: restore it from a backup.',
    );
  }
  return result.data;
}

/**
 * Written to a temporary file, fsynced and renamed, and the directory fsynced: a crash or power loss leaves the old
 * marker or the new one, never an empty or half-written one (a rename can reach the disk before the data).
 */
async function writeFormatFile(dir: string, spec: DataFormatSpec, format: number): Promise<void> {
  const body: FormatFile = {
    format,
    readable_from: format === spec.format ? spec.readableFrom : format,
    written_by: spec.version,
    updated_at: new Date().toISOString(),
  };
  const file = join(dir, FORMAT_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const handle = await open(tmp, 'w', 0o644);
    try {
      await handle.writeFile(`${JSON.stringify(body, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
