// Data directory format: <data_dir>/FORMAT.json says which data format wrote the directory, so that an
// upgrade migrates old data on start and a rollback either runs on newer data (when the newer format says it
// is readable by older code) or refuses with a message naming the fix, instead of corrupting it.
import { access, constants, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { DataDirError, errorText } from './datadir-error.js';
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

async function readFormatFile(dir: string): Promise<FormatFile | undefined> {
  const file = join(dir, FORMAT_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DataDirError(`cannot read ${file}: ${errorText(err)}`);
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

/** Written to a temporary file and renamed, so a crash never leaves a half-written marker. */
async function writeFormatFile(dir: string, spec: DataFormatSpec, format: number): Promise<void> {
  const body: FormatFile = {
    format,
    readable_from: format === spec.format ? spec.readableFrom : format,
    written_by: spec.version,
    updated_at: new Date().toISOString(),
  };
  const file = join(dir, FORMAT_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, file);
}
