// Config format versions. `version:` in the file says which format it is written in; older formats are
// migrated in memory on load (the file is not rewritten) and each step leaves a note for the log.
import { CONFIG_FORMAT_VERSION } from './schema.js';

export interface Migration {
  from: number;
  /** Rewrites a raw (unvalidated) config object of version `from` into version `from + 1`. */
  apply(raw: Record<string, unknown>): { raw: Record<string, unknown>; notes: string[] };
}

/** Ordered by `from`. Version 1 is the first format, so there is nothing to migrate yet. */
export const migrations: readonly Migration[] = [];

export interface MigrationResult {
  raw: unknown;
  notes: string[];
  /** Set when the file is newer than this build understands. */
  tooNew?: number;
}

export function migrateConfig(raw: unknown, list: readonly Migration[] = migrations): MigrationResult {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { raw, notes: [] };
  let current = raw as Record<string, unknown>;
  const version = current.version === undefined ? CONFIG_FORMAT_VERSION : current.version;
  if (typeof version !== 'number' || !Number.isInteger(version)) return { raw, notes: [] }; // the schema reports it
  if (version > CONFIG_FORMAT_VERSION) return { raw, notes: [], tooNew: version };
  const notes: string[] = [];
  for (let v = version; v < CONFIG_FORMAT_VERSION; v++) {
    const step = list.find((m) => m.from === v);
    if (!step) break;
    const out = step.apply(current);
    current = { ...out.raw, version: v + 1 };
    notes.push(...out.notes.map((n) => `config v${v} -> v${v + 1}: ${n}`));
  }
  return { raw: current, notes };
}
