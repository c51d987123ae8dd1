// What bridge/request/backup archives: the config file, and the data directory without what is not state to
// restore: its lock file and the upstream queue (messages on their way to the upstream broker, possibly gigabytes,
// that a restored gateway should not send again). The broker journal (retained device states, persistent sessions)
// and the adapters' directories (firmware images) are in it.
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LOCK_FILE } from '../datadir-lock.js';
import { VERSION } from '../version.js';
import type { ZipFile } from './zip.js';

/** Largest total of file bytes a backup takes: it travels as one MQTT message (base64, a third larger). */
export const BACKUP_MAX_BYTES = 64 * 1024 * 1024;
const MAX_FILES = 10_000;
const MAX_DEPTH = 16;

/** Data directory paths (relative, `/`-separated) left out, and why (the archive's backup.json says so too). */
export const LEFT_OUT: Readonly<Record<string, string>> = {
  [LOCK_FILE]: "the running gateway's lock",
  upstream: 'the upstream queue: messages waiting to be sent, not state',
};

export class BackupTooLarge extends Error {}

interface Found {
  name: string;
  path: string;
  size: number;
}

/** The archive's files: `backup.json`, the config file under its own name, and `data/...`. */
export async function collectBackup(
  source: { configPath: string; dataDir: string },
  maxBytes = BACKUP_MAX_BYTES,
): Promise<ZipFile[]> {
  const configName = basename(source.configPath);
  const found: Found[] = [{ name: configName, path: source.configPath, size: (await stat(source.configPath)).size }];
  await walk(source.dataDir, '', 0, found);
  const total = found.reduce((sum, f) => sum + f.size, 0);
  if (total > maxBytes) {
    const largest = [...found].sort((a, b) => b.size - a.size).slice(0, 3);
    throw new BackupTooLarge(
      `the backup would hold ${mib(total)} MiB, more than ${mib(maxBytes)} MiB: largest ${largest
        .map((f) => `${f.name} (${mib(f.size)} MiB)`)
        .join(', ')}; copy ${source.dataDir} with the gateway stopped instead, or move large firmware images out`,
    );
  }
  const files: ZipFile[] = [];
  for (const f of found) {
    const read = await readIfThere(f.path);
    if (read)
      files.push({ name: f.name, ...read, data: f.name.endsWith('.jsonl') ? completeLines(read.data) : read.data });
  }
  const manifest = {
    format: 1,
    written_by: VERSION,
    created_at: new Date().toISOString(),
    config_file: source.configPath,
    data_dir: source.dataDir,
    left_out: LEFT_OUT,
    files: files.map((f) => f.name),
  };
  return [
    { name: 'backup.json', data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), modified: new Date() },
    ...files,
  ];
}

async function walk(dir: string, relative: string, depth: number, found: Found[]): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = relative ? `${relative}/${entry.name}` : entry.name;
    if (Object.hasOwn(LEFT_OUT, rel)) continue;
    const path = join(dir, entry.name);
    // Symbolic links and special files are not the gateway's data.
    if (entry.isDirectory() && depth < MAX_DEPTH) await walk(path, rel, depth + 1, found);
    else if (entry.isFile()) {
      if (found.length >= MAX_FILES) throw new BackupTooLarge(`the data directory holds more than ${MAX_FILES} files`);
      const size = await stat(path).then(
        (s) => s.size,
        () => undefined,
      );
      if (size !== undefined) found.push({ name: `data/${rel}`, path, size });
    }
  }
}

/** A file removed since the listing (a queue segment, a firmware image deleted meanwhile) is left out. */
async function readIfThere(path: string): Promise<{ data: Buffer; modified: Date } | undefined> {
  try {
    const [data, info] = await Promise.all([readFile(path), stat(path)]);
    return { data, modified: info.mtime };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A JSON-lines file (the broker journal) up to its last newline: what follows is a write still going on, which a
 * restored gateway would report as damage. */
function completeLines(data: Buffer): Buffer {
  return data.subarray(0, data.lastIndexOf(0x0a) + 1);
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
