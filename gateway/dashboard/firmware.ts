// The dashboard's Firmware section: the files an ota_update can read for a device, listed read-only from its
// adapter's firmware directory. Which devices can take one is the adapters' call (AdapterModule.firmwareUpdates),
// which the controller hands the dashboard with the data dir: neither is on an MQTT topic.
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AdapterHost } from '../adapter-host.js';

export interface FirmwareFile {
  name: string;
  size: number;
  mtime: string;
}

export interface FirmwareListing {
  dir: string;
  files: FirmwareFile[];
  /** The directory does not exist (yet): the user creates it and copies files there. */
  missing?: true;
  /** More than MAX_FILES usable files: the first ones by name are listed. */
  truncated?: true;
}

const MAX_FILES = 500;

/** An ota_update answers once the upload is done, which over BLE takes minutes: wait this long for it. */
export const OTA_RESPONSE_TIMEOUT_MS = 30 * 60 * 1000;

/** Where ota_update reads a device's files: `firmware/` in its adapter's data directory (see ota-request.ts). */
export function firmwareDirOf(dataDir: string, transport: string): string {
  return join(AdapterHost.dataDirFor(dataDir, transport), 'firmware');
}

/** Whether the request that starts (not cancels) a firmware upload goes to `topic`. */
export function isOtaUpload(topic: string, body: Record<string, unknown>): boolean {
  return /\/bridge\/request\/device\/ota_update(\/update)?$/.test(topic) && body.cancel !== true;
}

/**
 * The regular files in `dir` that ota_update accepts by name, sorted by name. A symlink is listed only when it
 * resolves to a regular file in the directory itself, so that no size or date of a file elsewhere shows.
 */
export async function listFirmware(dir: string): Promise<FirmwareListing> {
  let real: string;
  let entries: Dirent[];
  try {
    real = await realpath(dir);
    entries = await readdir(real, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { dir, files: [], missing: true };
    throw err;
  }
  const candidates = entries
    .filter((e) => acceptedName(e.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: FirmwareFile[] = [];
  for (const entry of candidates) {
    if (files.length === MAX_FILES) return { dir, files, truncated: true };
    const file = await describe(real, entry);
    if (file) files.push(file);
  }
  return { dir, files };
}

/** The same rule as ota_update's for `file`: a plain name, no path separators or "..", at most 255 characters. */
function acceptedName(name: string): boolean {
  return name.length <= 255 && !/[/\\\0]/.test(name) && !name.includes('..');
}

async function describe(dir: string, entry: Dirent): Promise<FirmwareFile | undefined> {
  const path = join(dir, entry.name);
  try {
    if (entry.isSymbolicLink() && dirname(await realpath(path)) !== dir) return undefined;
    const info = await stat(path);
    if (!info.isFile()) return undefined;
    return { name: entry.name, size: info.size, mtime: info.mtime.toISOString() };
  } catch {
    // Removed since the listing, or a dangling link: not a file to offer.
    return undefined;
  }
}
