// A read for @serialport/bindings-cpp's unix ports that ends when the tty hangs up.
//
// The binding's own read (unix-read.js, bindings-cpp 13) treats a read of 0 bytes as "nothing yet" and reads again at
// once. On a tty opened non-blocking with VMIN=1 (the binding's settings) a read returns EAGAIN while there is
// nothing to read, and 0 only once the tty has hung up: after a USB CDC ACM unplug or the master of a pty closing,
// the kernel (tty_vhangup) swaps the descriptor's file operations for hung_up_tty_fops, whose read returns 0 forever.
// The binding then spins on zero-byte reads through the thread pool (~30000 a second) and the stream never sees an
// error or 'close': the device stays online and pending requests wait for their timeouts.
//
// It notices the hang-up only when it is waiting for the descriptor (its uv_poll reports POLLERR as EBADF). Whenever
// a read runs after the hang-up instead, the spin starts: when data was arriving at the unplug (a read was queued on
// the thread pool), or when the event loop woke between the two steps of pty_close (the first wake-up reports only
// POLLHUP, which libuv hands over as "readable"), which a loaded machine makes likely.
import { read as fsRead } from 'node:fs';
import type { BindingPortInterface } from '@serialport/bindings-cpp';

/** The parts of bindings-cpp's LinuxPortBinding / DarwinPortBinding this read uses. */
interface UnixPort extends BindingPortInterface {
  fd: number | null;
  poller: { once(event: 'readable', callback: (err?: Error | null) => void): unknown };
}

function isUnixPort(port: unknown): port is UnixPort {
  const p = port as Partial<UnixPort> | undefined;
  return typeof p?.fd === 'number' && typeof p.poller?.once === 'function' && typeof p.read === 'function';
}

/** The error the stream takes for a closed port: it stops reading and does not report a disconnect. */
function canceled(): Error {
  return Object.assign(new Error('Port is not open'), { canceled: true });
}

function readOnce(fd: number, buffer: Buffer, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fsRead(fd, buffer, offset, length, null, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

/**
 * Replaces `port.read` (a bindings-cpp unix port, as SerialPortStream#port holds it once open) with one that fails
 * with a disconnect error at end of file, so the stream closes the port and reports it. Other ports (binding-mock,
 * Windows) are left alone. Returns whether the read was replaced.
 */
export function endReadsOnHangup(port: unknown): boolean {
  if (!isUnixPort(port)) return false;
  port.read = async (buffer, offset, length) => {
    for (;;) {
      const fd = port.fd;
      if (!port.isOpen || fd === null) throw canceled();
      try {
        const bytesRead = await readOnce(fd, buffer, offset, length);
        if (bytesRead > 0) return { bytesRead, buffer };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw err; // EIO, ENXIO, EBADF: gone
        if (!port.isOpen) throw canceled();
        // Closing the port stops the poller, which fails this wait as canceled.
        await new Promise<void>((resolve, reject) => port.poller.once('readable', (e) => (e ? reject(e) : resolve())));
        continue;
      }
      if (!port.isOpen) throw canceled(); // closed by us while the read was on the thread pool
      throw Object.assign(new Error('serial port hung up (read end of file)'), { code: 'EOF', disconnect: true });
    }
  };
  return true;
}
