// Reads a serial port on the event loop. @serialport/bindings-cpp reads with fs.read on the libuv thread pool and,
// on EAGAIN, waits on a uv_poll: each chunk costs a poll wake-up, two thread-pool round trips and a stream push.
// Here a second, read-only descriptor of the same tty is wrapped in a uv_tty stream (node:tty ReadStream): epoll
// wakes the loop, libuv reads until EAGAIN in place. The binding keeps the port's own descriptor: it opened and
// configured it (termios, lock) and still does the (rare) writes. uv_tty_init does not touch termios; it may
// reopen a pty slave by name and dup2 it over *our* descriptor, which leaves the binding's lock alone.
import { closeSync, constants, open } from 'node:fs';
import { isatty, ReadStream } from 'node:tty';

export interface TtyReader {
  /** Stops reading and closes the reader's descriptor (not the port's). Idempotent. */
  close(): void;
}

/** One read takes at most this much: 16 KiB is 1.6 s of 115200 baud, 160 ms of 1 Mbaud. */
const READ_BUFFER_BYTES = 16 * 1024;

export interface TtyReaderEvents {
  /** The bytes of one read. The buffer is reused by the next read: copy what must outlive the call. */
  data(chunk: Buffer): void;
  /** The tty hung up (EOF, EIO after an unplug) or failed; `reason` says which. Called at most once. */
  end(reason: string): void;
}

/**
 * Opens `path` again read-only and non-blocking and reads it with a uv_tty stream. Resolves to undefined where
 * this fast path is unavailable (not Linux, not a tty, open refused), so the caller falls back to the binding.
 */
export async function openTtyReader(path: string, on: TtyReaderEvents): Promise<TtyReader | undefined> {
  if (process.platform !== 'linux') return undefined;
  const fd = await new Promise<number | undefined>((resolve) =>
    open(path, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK, (err, fd) =>
      resolve(err ? undefined : fd),
    ),
  );
  if (fd === undefined) return undefined;
  let stream: ReadStream;
  try {
    if (!isatty(fd)) throw new Error('not a tty');
    // onread: libuv reads straight into one reused buffer and the callback gets the bytes, without a Readable
    // push, a 'data' event or a fresh 64 KiB allocation per read. `on.data` must not keep the chunk.
    const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    stream = new ReadStream(fd, {
      onread: {
        buffer,
        callback: (n: number, buf: Uint8Array) => {
          on.data(Buffer.from(buf.buffer, buf.byteOffset, n));
        },
      },
    } as ConstructorParameters<typeof ReadStream>[1]);
  } catch {
    closeSync(fd);
    return undefined;
  }
  // uv_tty_init reopened a pty slave by name, dup2'd it over `fd` and kept the new descriptor: the stream closes
  // only that one, and `fd` would leak once per open (a held ttyACM0 makes a replugged board come back as ttyACM1).
  const streamFd = (stream as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (streamFd !== undefined && streamFd >= 0 && streamFd !== fd) closeSync(fd);
  // From here the stream owns the descriptor: destroying it closes the fd.
  let ended = false;
  let reason = 'port closed (EOF)';
  const finish = (): void => {
    if (ended) return;
    ended = true;
    on.end(reason);
  };
  stream.resume();
  stream.on('error', (err: Error) => {
    reason = err.message;
  });
  stream.on('end', () => stream.destroy());
  stream.on('close', finish);
  return {
    close(): void {
      ended = true;
      stream.destroy();
    },
  };
}
