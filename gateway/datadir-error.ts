/** A data directory the gateway must not start on; the message names the fix. */
export class DataDirError extends Error {
  override name = 'DataDirError';
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The user id the gateway runs as (in the container image: 10001), as a chown argument. */
export function ownUid(): string {
  return String(process.getuid?.() ?? 'the gateway user');
}

/** The fix for files in the data dir that the gateway's user cannot read or write. */
export function chownFix(dataDir: string): string {
  return `chown -R ${ownUid()} ${dataDir}: a first run with sudo leaves root-owned files`;
}

/** The errno code of a file system error (`EACCES`, `ENOSPC`...), if it has one. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
