// The files a config names that `run` reads at start (TLS certificates, keys, CA bundles, the bridge's password
// file), checked by `validate` so that a config it calls valid does not fail on one of them.
import { readFile } from 'node:fs/promises';
import type { GatewayConfig } from '../config/schema.js';

export interface FileReference {
  /** Key path of the setting, e.g. ['broker', 'listeners', '0', 'cert']. */
  path: string[];
  file: string;
}

export interface UnreadableFile extends FileReference {
  code: string;
}

/** The file settings in effect: an mqtts listener's files, and the bridge's only while it is enabled. */
export function fileReferences(config: GatewayConfig): FileReference[] {
  const refs: FileReference[] = [];
  const add = (path: string[], file: string | undefined) => {
    if (file !== undefined) refs.push({ path, file });
  };
  for (const [i, listener] of config.broker.listeners.entries()) {
    if (listener.type !== 'mqtts') continue;
    for (const key of ['cert', 'key', 'ca'] as const) add(['broker', 'listeners', String(i), key], listener[key]);
  }
  const bridge = config.bridge;
  if (bridge.enabled) {
    add(['bridge', 'password_file'], bridge.password_file);
    for (const key of ['ca', 'cert', 'key'] as const) add(['bridge', 'tls', key], bridge.tls?.[key]);
  }
  return refs;
}

/** The referenced files this process cannot read, each with the error code (ENOENT, EACCES, EISDIR...). */
export async function unreadableFiles(refs: readonly FileReference[]): Promise<UnreadableFile[]> {
  const results = await Promise.all(
    refs.map(async (ref) => {
      try {
        await readFile(ref.file);
        return undefined;
      } catch (err) {
        return { ...ref, code: (err as NodeJS.ErrnoException).code ?? String(err) };
      }
    }),
  );
  return results.filter((r): r is UnreadableFile => r !== undefined);
}
