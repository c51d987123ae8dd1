// Firmware files for ota_update: the adapter's firmware directory, <gateway.data_dir>/adapters/<kind>/firmware, where
// a request names a file; and a device's own directory in it, firmware/<device id>/, from which an update without
// a file (Zigbee2MQTT's {"id"} alone) and ota_update/check take the image with the highest version.
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { AdapterContext } from '../../../gateway/adapter.js';
import { type McubootImageInfo, mcubootHeaderVersion, parseMcubootImage } from './mcuboot-image.js';

/** Larger than any MCUboot slot on a microcontroller; keeps a wrong file from being read into memory. */
const MAX_FIRMWARE_BYTES = 32 * 1024 * 1024;

/**
 * Where firmware files go: `firmware/` in the directory the core gives the adapter that runs the request, i.e.
 * <gateway.data_dir>/adapters/<kind>/firmware (serial, ble, coap). Not <data_dir>/firmware: the adapter contract hands an
 * adapter only its own directory, and deriving the root from it would hard-code the core's layout.
 */
export function firmwareDir(ctx: AdapterContext): string {
  return join(ctx.dataDir, 'firmware');
}

/** A firmware file chosen for a request, before its bytes are read. */
export interface FirmwareChoice {
  /** As a request names it: the plain name, or `<device id>/<name>` for one from the device's directory. */
  file: string;
  path: string;
  /** The version in its MCUboot header. */
  version: string;
}

/** A file named in a request: only a plain name inside the firmware directory, an MCUboot image a slot can hold. */
export async function namedFirmware(ctx: AdapterContext, file: string): Promise<FirmwareChoice> {
  const path = await firmwarePath(ctx, file);
  const header = await headerOf(path);
  if (!header) return { file, path, version: (await readImage(path)).info.version }; // its parse error says why
  return { file, path, version: header.version };
}

async function firmwarePath(ctx: AdapterContext, file: string): Promise<string> {
  if (/[/\\\0]/.test(file) || file === '.' || file.includes('..') || isAbsolute(file)) {
    throw new Error(`"file" must be a plain file name inside ${firmwareDir(ctx)}, without "/", "\\" or ".."`);
  }
  const path = join(firmwareDir(ctx), file);
  const found = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new Error(`firmware file "${file}" not found: put it in ${firmwareDir(ctx)}/`);
    throw new Error(`cannot read firmware file ${path}: ${err.message}`);
  });
  if (!found.isFile()) throw new Error(`${path} is not a regular file`);
  if (found.size > MAX_FIRMWARE_BYTES) throw new Error(`${path} has ${found.size} bytes, more than any image slot`);
  return path;
}

export async function readImage(path: string): Promise<{ bytes: Buffer; info: McubootImageInfo }> {
  const bytes = await readFile(path);
  const info = parseMcubootImage(bytes);
  if (!info.ok) throw new Error(`${path}: ${info.reason}`);
  return { bytes, info: info.value };
}

/** Most files of a device's directory that are looked at: a directory is for a device's releases, not an archive. */
const MAX_DEVICE_FILES = 64;

/**
 * The image with the highest version (the newest file among equals) in firmware/<deviceId>/, undefined if it has
 * none. Only the headers are read.
 */
export async function newestDeviceFirmware(ctx: AdapterContext, deviceId: string): Promise<FirmwareChoice | undefined> {
  const dir = deviceFirmwareDir(ctx, deviceId);
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [] as string[];
    throw new Error(`cannot read ${dir}: ${err.message}`);
  });
  if (names.length > MAX_DEVICE_FILES) {
    throw new Error(
      `${dir} holds ${names.length} files, more than ${MAX_DEVICE_FILES}: keep the device's releases there`,
    );
  }
  let best: { name: string; version: string; mtime: number } | undefined;
  for (const name of names) {
    const candidate = await headerOf(join(dir, name));
    if (!candidate) continue; // a README or a signature file beside the images
    const order = best ? compareVersions(candidate.version, best.version) : 1;
    if (!best || order > 0 || (order === 0 && candidate.mtime > best.mtime)) best = { name, ...candidate };
  }
  if (!best) return undefined;
  return { file: `${deviceId}/${best.name}`, path: join(dir, best.name), version: best.version };
}

/** The version and time of a regular file that starts with an MCUboot header of a size a slot can hold. */
async function headerOf(path: string): Promise<{ version: string; mtime: number } | undefined> {
  const found = await stat(path).catch(() => undefined);
  if (!found?.isFile() || found.size > MAX_FIRMWARE_BYTES) return undefined;
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    const header = Buffer.alloc(32);
    const { bytesRead } = await handle.read(header, 0, header.length, 0);
    const version = mcubootHeaderVersion(header.subarray(0, bytesRead));
    return version === undefined ? undefined : { version, mtime: found.mtimeMs };
  } finally {
    await handle.close();
  }
}

export function deviceFirmwareDir(ctx: AdapterContext, deviceId: string): string {
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
