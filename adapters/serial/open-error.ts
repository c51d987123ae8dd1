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

/** The open error as shown in the log and bridge/info; a failed lock names what holds the port. */
export function openErrorMessage(err: unknown, path: string): string {
  const message = err instanceof Error ? err.message : String(err);
  return LOCKED.test(message) ? `another program holds ${path} (port locked: ${message})` : message;
}
