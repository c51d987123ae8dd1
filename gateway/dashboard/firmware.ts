// The dashboard's Firmware section: the files an ota_update can read for a device, listed read-only from its
// adapter's firmware directory and from the device's own directory in it, firmware/<id>/ (where an update without a
// file, Home Assistant's Install, and ota_update/check take the newest image). Which devices can take one is the adapters' call (AdapterModule.firmwareUpdates),
// which the controller hands the dashboard with the data dir: neither is on an MQTT topic.
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  compareVersions,
  type DeviceFirmwareFile,
  deviceFirmwareDir,
  deviceFirmwareFiles,
  type FirmwareRoot,
  newestImage,
} from '../../adapters/common/smp/firmware-files.js';
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

/** The images of the device's own directory, firmware/<id>/ (at most 64 files are looked at, as by the check). */
export interface DeviceFirmwareListing {
  dir: string;
  /** `name` is `<id>/<file name>`, as ota_update takes it in `file`; `version` from the MCUboot header of an image;
   * `newest` on the one an update without a file installs. */
  files: Array<FirmwareFile & { version?: string; newest?: true }>;
  missing?: true;
  /** Why nothing is listed: more files than an update looks at, or an unreadable directory. */
  error?: string;
}

/** An ota_update answers once the upload is done, which over BLE takes minutes: wait this long for it. */
export const OTA_RESPONSE_TIMEOUT_MS = 30 * 60 * 1000;

/** Where ota_update reads a device's files: `firmware/` in its adapter's data directory (see ota-request.ts). */
export function firmwareDirOf(dataDir: string, transport: string): string {
  return join(firmwareRoot(dataDir, transport).dataDir, 'firmware');
}

/** The adapter's data directory, as firmware-files.ts takes it (its firmware directory is `firmware/` in it). */
function firmwareRoot(dataDir: string, transport: string): FirmwareRoot {
  return { dataDir: AdapterHost.dataDirFor(dataDir, transport) };
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

/**
 * The files of the device's own directory, firmware/<id>/, that an update can name (`<id>/<name>`): regular files
 * that resolve inside the firmware directory, highest version first (the order the page offers them in), with their
 * header versions (only headers are read).
 */
export async function listDeviceFirmware(
  dataDir: string,
  transport: string,
  deviceId: string,
): Promise<DeviceFirmwareListing> {
  const root = firmwareRoot(dataDir, transport);
  const dir = deviceFirmwareDir(root, deviceId);
  let found: Awaited<ReturnType<typeof deviceFirmwareFiles>>;
  try {
    found = await deviceFirmwareFiles(root, deviceId);
  } catch (err) {
    return { dir, files: [], error: err instanceof Error ? err.message : String(err) };
  }
  if (found.missing) return { dir, files: [], missing: true };
  const newest = newestImage(found.files);
  const files = [...found.files]
    .sort(highestVersionFirst)
    .filter((f) => acceptedName(f.name) && `${deviceId}/${f.name}`.length <= 255)
    .map((f) => ({
      name: `${deviceId}/${f.name}`,
      size: f.size,
      mtime: new Date(f.mtime).toISOString(),
      ...(f.version !== undefined ? { version: f.version } : {}),
      ...(f === newest ? { newest: true as const } : {}),
    }));
  return { dir, files };
}

/** Highest version first, the newest file among equals first, files without a version last (by name). */
function highestVersionFirst(a: DeviceFirmwareFile, b: DeviceFirmwareFile): number {
  if (a.version === undefined || b.version === undefined)
    return a.version === b.version ? 0 : a.version === undefined ? 1 : -1;
  return compareVersions(b.version, a.version) || b.mtime - a.mtime;
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
