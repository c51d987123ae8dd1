// Firmware files for ota_update: the adapter's firmware directory, <gateway.data_dir>/adapters/<kind>/firmware, where
// a request names a file; and a device's own directory in it, firmware/<device id>/, from which an update without
// a file (Zigbee2MQTT's {"id"} alone) and ota_update/check take the image with the highest version.
import { open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import type { AdapterContext } from '../../../gateway/adapter.js';
import { type McubootImageInfo, mcubootHeaderVersion, parseMcubootImage } from './mcuboot-image.js';

/** Larger than any MCUboot slot on a microcontroller; keeps a wrong file from being read into memory. */
const MAX_FIRMWARE_BYTES = 32 * 1024 * 1024;

/**
 * Where firmware files go: `firmware/` in the directory the core gives the adapter that runs the request, i.e.
 * <gateway.data_dir>/adapters/<kind>/firmware (serial, ble, coap). Not <data_dir>/firmware: the adapter contract hands an
 * adapter only its own directory, and deriving the root from it would hard-code the core's layout.
 */
export function firmwareDir(ctx: FirmwareRoot): string {
  return join(ctx.dataDir, 'firmware');
}

/** All these functions need of an adapter's context: its data directory. The dashboard and the gateway's start-up
 * check (gateway/firmware-check.ts) give the adapter's directory the same way. */
export type FirmwareRoot = Pick<AdapterContext, 'dataDir'>;

/** A firmware file chosen for a request, before its bytes are read. */
export interface FirmwareChoice {
  /** As a request names it: the plain name, or `<device id>/<name>` for one from the device's directory. */
  file: string;
  path: string;
  /** The version in its MCUboot header. */
  version: string;
}

/**
 * A file named in a request: a plain name inside the firmware directory, or `<device id>/<plain name>` inside the
 * device's own directory (the requesting device's, no other's), an MCUboot image a slot can hold.
 */
export async function namedFirmware(ctx: AdapterContext, file: string, deviceId: string): Promise<FirmwareChoice> {
  const { path, size } = await firmwareFile(ctx, file, deviceId);
  const version = await headerVersion(path, size);
  if (version === undefined) return { file, path, version: (await readImage(path)).info.version }; // its parse error says why
  return { file, path, version };
}

async function firmwareFile(
  ctx: AdapterContext,
  file: string,
  deviceId: string,
): Promise<{ path: string; size: number }> {
  const own = file.startsWith(`${deviceId}/`);
  const name = own ? file.slice(deviceId.length + 1) : file;
  if (/[/\\\0]/.test(name) || name === '' || name === '.' || name.includes('..') || isAbsolute(name)) {
    throw new Error(
      `"file" must be a plain file name inside ${firmwareDir(ctx)}, without "/", "\\" or "..", or ` +
        `"${deviceId}/<plain file name>" for one in ${deviceFirmwareDir(ctx, deviceId)}`,
    );
  }
  const dir = own ? deviceFirmwareDir(ctx, deviceId) : firmwareDir(ctx);
  const path = join(dir, name);
  const found = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new Error(`firmware file "${file}" not found: put it in ${dir}/`);
    throw new Error(`cannot read firmware file ${path}: ${err.message}`);
  });
  if (!found.isFile()) throw new Error(`${path} is not a regular file`);
  // A name in firmware/ is the user's to link anywhere (as before); one in a device's directory is listed by the
  // dashboard and chosen without a name, so it must stay inside firmware/.
  if (own && !(await insideFirmwareDir(ctx, path))) {
    throw new Error(`${path} is a link that leads out of ${firmwareDir(ctx)}: only files inside it are read`);
  }
  if (found.size > MAX_FIRMWARE_BYTES) throw new Error(`${path} has ${found.size} bytes, more than any image slot`);
  return { path, size: found.size };
}

/** Whether `path` resolves (through any links) to a file inside the firmware directory or one of its directories. */
async function insideFirmwareDir(ctx: FirmwareRoot, path: string): Promise<boolean> {
  try {
    const [root, real] = await Promise.all([realpath(firmwareDir(ctx)), realpath(path)]);
    return real.startsWith(root + sep);
  } catch {
    return false; // removed meanwhile, or a dangling link
  }
}

export async function readImage(path: string): Promise<{ bytes: Buffer; info: McubootImageInfo }> {
  const bytes = await readFile(path);
  const info = parseMcubootImage(bytes);
  if (!info.ok) throw new Error(`${path}: ${info.reason}`);
  return { bytes, info: info.value };
}

/** Most files of a device's directory that are looked at: a directory is for a device's releases, not an archive. */
export const MAX_DEVICE_FILES = 64;

/** A regular file of a device's directory; `version` when it starts with an MCUboot header. */
export interface DeviceFirmwareFile {
  /** Its name in firmware/<id>/. */
  name: string;
  path: string;
  size: number;
  mtime: number;
  version?: string;
}

/**
 * The regular files of firmware/<deviceId>/ that resolve inside the firmware directory (a link out of it is no
 * file of the device's), sorted by name, with the versions in their headers: only the headers are read.
 * `missing` when there is no such directory; an error when it holds more than MAX_DEVICE_FILES entries.
 */
export async function deviceFirmwareFiles(
  ctx: FirmwareRoot,
  deviceId: string,
): Promise<{ files: DeviceFirmwareFile[]; missing?: true }> {
  const dir = deviceFirmwareDir(ctx, deviceId);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { files: [], missing: true };
    throw new Error(`cannot read ${dir}: ${(err as Error).message}`);
  }
  if (names.length > MAX_DEVICE_FILES) {
    throw new Error(
      `${dir} holds ${names.length} files, more than ${MAX_DEVICE_FILES}: keep the device's releases there`,
    );
  }
  const files: DeviceFirmwareFile[] = [];
  for (const name of names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const path = join(dir, name);
    const found = await stat(path).catch(() => undefined);
    if (!found?.isFile() || !(await insideFirmwareDir(ctx, path))) continue;
    const version = await headerVersion(path, found.size);
    files.push({ name, path, size: found.size, mtime: found.mtimeMs, ...(version !== undefined ? { version } : {}) });
  }
  return { files };
}

/** The image an update without a file installs: the highest version, the newest file among equals. */
export function newestImage(files: readonly DeviceFirmwareFile[]): DeviceFirmwareFile | undefined {
  let best: DeviceFirmwareFile | undefined;
  for (const candidate of files) {
    if (candidate.version === undefined) continue; // a README or a signature file beside the images
    const order = best?.version === undefined ? 1 : compareVersions(candidate.version, best.version);
    if (!best || order > 0 || (order === 0 && candidate.mtime > best.mtime)) best = candidate;
  }
  return best;
}

/**
 * The image with the highest version (the newest file among equals) in firmware/<deviceId>/, undefined if it has
 * none. Only the headers are read.
 */
export async function newestDeviceFirmware(ctx: FirmwareRoot, deviceId: string): Promise<FirmwareChoice | undefined> {
  const best = newestImage((await deviceFirmwareFiles(ctx, deviceId)).files);
  if (best?.version === undefined) return undefined;
  return { file: `${deviceId}/${best.name}`, path: best.path, version: best.version };
}

/** The version in the MCUboot header a regular file of `size` bytes (as stat found it) starts with, if a slot can
 * hold it. */
async function headerVersion(path: string, size: number): Promise<string | undefined> {
  if (size > MAX_FIRMWARE_BYTES) return undefined;
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const header = Buffer.alloc(32);
    const { bytesRead } = await handle.read(header, 0, header.length, 0);
    return mcubootHeaderVersion(header.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

export function deviceFirmwareDir(ctx: FirmwareRoot, deviceId: string): string {
  return join(firmwareDir(ctx), deviceId);
}

/** MCUboot versions as img_mgmt writes them, "major.minor.revision[.build]": > 0 when `a` is the newer. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0 && !Number.isNaN(d)) return d;
  }
  return 0;
}
