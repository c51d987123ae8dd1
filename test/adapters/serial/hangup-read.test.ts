// The read that replaces bindings-cpp's on unix ports: end of file is a hang-up (a disconnect), not "read again".
// The descriptors here are a FIFO and a regular file; the pty case runs in test/interop/serial-pty.test.ts.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { endReadsOnHangup } from '../../../adapters/serial/hangup-read.js';

let dir: string;
const fds: number[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hangup-read-'));
});

afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
});

/** A stand-in for LinuxPortBinding: its descriptor, and a poller whose 'readable' the test fires. */
function unixPort(fd: number | null) {
  const waiting: Array<(err?: Error | null) => void> = [];
  let polled: () => void = () => {};
  /** Resolves once the read waits on the poller. */
  const waits = new Promise<void>((resolve) => {
    polled = resolve;
  });
  const port = {
    fd,
    get isOpen() {
      return this.fd !== null;
    },
    poller: {
      once: (_event: 'readable', cb: (err?: Error | null) => void) => {
        waiting.push(cb);
        polled();
      },
    },
    read: (_buffer: Buffer, _offset: number, _length: number): Promise<{ buffer: Buffer; bytesRead: number }> =>
      Promise.reject(new Error('original read')),
  };
  return { port, waiting, waits };
}

function opened(path: string, flags: number): number {
  const fd = openSync(path, flags);
  fds.push(fd);
  return fd;
}

describe('endReadsOnHangup', () => {
  it('fails the read as a disconnect at end of file, where bindings-cpp read again forever', async () => {
    writeFileSync(join(dir, 'empty'), '');
    const { port } = unixPort(opened(join(dir, 'empty'), constants.O_RDONLY));
    expect(endReadsOnHangup(port)).toBe(true);
    await expect(port.read(Buffer.alloc(16), 0, 16)).rejects.toMatchObject({
      message: 'serial port hung up (read end of file)',
      code: 'EOF',
      disconnect: true,
    });
  });

  it('returns the bytes there are, and waits on the poller while there are none (EAGAIN)', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const readFd = opened(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeFd = opened(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    const { port, waiting, waits } = unixPort(readFd);
    endReadsOnHangup(port);
    const buffer = Buffer.alloc(16);
    const read = port.read(buffer, 2, 8);
    await waits;
    expect(waiting).toHaveLength(1);
    writeSync(writeFd, 'hello');
    waiting.shift()!(null);
    await expect(read).resolves.toMatchObject({ bytesRead: 5 });
    expect(buffer.subarray(2, 7).toString()).toBe('hello');
  });

  it("passes the poller's error on (EBADF: the hang-up seen while waiting) and cancels a read of a closed port", async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const readFd = opened(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    opened(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    const { port, waiting, waits } = unixPort(readFd);
    endReadsOnHangup(port);
    const read = port.read(Buffer.alloc(16), 0, 16);
    await waits;
    waiting.shift()!(new Error('bad file descriptor'));
    await expect(read).rejects.toThrow('bad file descriptor');

    port.fd = null;
    await expect(port.read(Buffer.alloc(16), 0, 16)).rejects.toMatchObject({ canceled: true });
  });

  it('leaves ports without a descriptor and poller alone (binding-mock, Windows)', async () => {
    const mock = { isOpen: true, read: () => Promise.resolve({ buffer: Buffer.alloc(0), bytesRead: 0 }) };
    const read = mock.read;
    expect(endReadsOnHangup(mock)).toBe(false);
    expect(mock.read).toBe(read);
    expect(endReadsOnHangup(undefined)).toBe(false);
  });
});
