// Injects the failures of a filling disk into node:fs for the code under test: writes to chosen files stop after
// a number of bytes (a short write) and then fail with ENOSPC, as the kernel does. Use in a test file with
//   vi.mock('node:fs', async (orig) => (await import('./fs-faults.js')).withFaults(await orig()));
import type * as Fs from 'node:fs';

interface WriteFault {
  match: (path: string) => boolean;
  code: string;
  /** Bytes still accepted before the writes fail. */
  allow: number;
}

const writeFaults: WriteFault[] = [];
let truncateFails = false;
const fdPaths = new Map<number, string>();

function errno(code: string, syscall: string): NodeJS.ErrnoException {
  const text: Record<string, string> = { ENOSPC: 'no space left on device', EDQUOT: 'disk quota exceeded' };
  return Object.assign(new Error(`${code}: ${text[code] ?? 'failed'}, ${syscall}`), { code, syscall });
}

export const fsFaults = {
  /** Writes to files `match` accepts fail with `code` once `allowBytes` more bytes were written. */
  failWrites(match: (path: string) => boolean, code = 'ENOSPC', allowBytes = 0): void {
    writeFaults.push({ match, code, allow: allowBytes });
  },
  /** ftruncate fails (as it would on a broken device). */
  failTruncate(): void {
    truncateFails = true;
  },
  clear(): void {
    writeFaults.length = 0;
    truncateFails = false;
  },
};

type WriteArgs = [string | NodeJS.ArrayBufferView, ...unknown[]];

/** The bytes a writeSync call would write: (fd, string, ...) or (fd, buffer, offset, length, ...). */
function bytesOf([data, offset, length]: WriteArgs): Buffer {
  if (typeof data === 'string') return Buffer.from(data);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const start = typeof offset === 'number' ? offset : 0;
  return buf.subarray(start, typeof length === 'number' ? start + length : undefined);
}

export function withFaults(real: typeof Fs): typeof Fs {
  const openSync = (path: Fs.PathLike, flags: Fs.OpenMode = 'r', mode?: Fs.Mode | null): number => {
    const fd = real.openSync(path, flags, mode);
    fdPaths.set(fd, String(path));
    return fd;
  };
  const writeSync = (fd: number, ...args: WriteArgs): number => {
    const path = fdPaths.get(fd) ?? '';
    const fault = writeFaults.find((f) => f.match(path));
    if (!fault) return (real.writeSync as (fd: number, ...a: unknown[]) => number)(fd, ...args);
    const bytes = bytesOf(args);
    const n = Math.min(fault.allow, bytes.length);
    if (n === 0) throw errno(fault.code, 'write');
    fault.allow -= n;
    return real.writeSync(fd, bytes, 0, n);
  };
  const ftruncateSync = (fd: number, len?: number): void => {
    if (truncateFails) throw errno('EIO', 'ftruncate');
    real.ftruncateSync(fd, len);
  };
  return { ...real, openSync, writeSync, ftruncateSync } as typeof Fs;
}
