/** A data directory the gateway must not start on; the message names the fix. */
export class DataDirError extends Error {
  override name = 'DataDirError';
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
