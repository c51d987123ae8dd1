// What a failed port open means: absent (look again after the scan interval) or an error to show, worded for
// the user.

/** An open failure that means "no such port" rather than "port broken or busy". */
export function isAbsent(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e?.code === 'ENOENT' || /ENOENT|No such file|does not exist/i.test(String(e?.message ?? ''));
}

// bindings-cpp: "Error Resource temporarily unavailable Cannot lock port" (flock EWOULDBLOCK);
// binding-mock: "Port is locked cannot open".
const LOCKED = /Cannot lock port|Port is locked/i;

// bindings-cpp: "Error: Permission denied, cannot open /dev/ttyS0" (EACCES from open(2)).
const DENIED = /Permission denied|EACCES/i;

/**
 * The open error as shown in the log and bridge/info: a failed lock names what holds the port, a refused open
 * says how to grant access.
 */
export function openErrorMessage(err: unknown, path: string, uid: number | undefined = process.getuid?.()): string {
  const message = err instanceof Error ? err.message : String(err);
  if (LOCKED.test(message)) return `another program holds ${path} (port locked: ${message})`;
  if ((err as { code?: unknown })?.code === 'EACCES' || DENIED.test(message)) {
    const who = uid === undefined ? '' : ` as uid ${uid}`;
    return (
      `no permission to open ${path}${who} (EACCES): add the gateway user to the port's group ` +
      '(dialout; container: GroupAdd, see docs/deploy.md)'
    );
  }
  // bindings-cpp: "Inappropriate ioctl for device setting custom baud rate of 115200" (ENOTTY: a file, /dev/null).
  if (/Inappropriate ioctl|ENOTTY/i.test(message)) return `${path} is not a serial port (${message})`;
  return message;
}
