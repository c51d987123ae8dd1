// The state files the CoAP adapter keeps in its data directory (command-observers.json, lwm2m-registrations.json):
// `{format, saved_at, <entries>}`, written whole and read back once at start. The envelope is checked on its own,
// so one bad entry costs that entry only; a file that is not one of ours is moved aside and ignored.
import { readFile, rename } from 'node:fs/promises';
import type { z } from 'zod';
import type { Logger } from '../../gateway/logger.js';

export type SavedStateRead<T> =
  | { state: 'none' }
  | { state: 'unusable'; reason: string; movedTo: string | undefined }
  | { state: 'read'; envelope: T };

export function savedStateText(format: number, entries: Record<string, unknown>): string {
  return `${JSON.stringify({ format, saved_at: new Date().toISOString(), ...entries })}\n`;
}

/**
 * Reads `file` and checks its envelope with `schema` (`what` names the file in the reason). An unusable file is
 * renamed to `<file>.corrupt` (the newest one kept) so that the next save does not destroy it.
 */
export async function readSavedState<S extends z.ZodType>(
  file: string,
  schema: S,
  what: string,
): Promise<SavedStateRead<z.infer<S>>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'none' };
    return { state: 'unusable', reason: String(err), movedTo: undefined };
  }
  const envelope = parseEnvelope(text, schema, what);
  if (envelope.ok) return { state: 'read', envelope: envelope.value };
  const movedTo = `${file}.corrupt`;
  const moved = await rename(file, movedTo).then(
    () => true,
    () => false,
  );
  return { state: 'unusable', reason: envelope.reason, movedTo: moved ? movedTo : undefined };
}

function parseEnvelope<S extends z.ZodType>(
  text: string,
  schema: S,
  what: string,
): { ok: true; value: z.infer<S> } | { ok: false; reason: string } {
  if (text.trim() === '') return { ok: false, reason: 'it is empty' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `it is not JSON (${(err as Error).message})` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ');
    return { ok: false, reason: `it is not a ${what} (${issues})` };
  }
  return { ok: true, value: parsed.data };
}

/** Says that `file` could not be used, where it is now, and what that costs (`lost`). */
export function warnUnusable(
  logger: Logger,
  file: string,
  unusable: Extract<SavedStateRead<unknown>, { state: 'unusable' }>,
  lost: string,
): void {
  const where = unusable.movedTo ? `moved to ${unusable.movedTo}` : 'left as it is';
  logger.warn(
    { file, reason: unusable.reason },
    `${file} cannot be used (${unusable.reason}): ignored and ${where}; ${lost}`,
  );
}
