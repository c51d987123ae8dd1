import { readFileSync } from 'node:fs';

function readVersion(): string {
  // Works from source (gateway/) and from dist/gateway/.
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'zephyr2mqtt' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0-unknown';
}

/**
 * The release, and in an image the commit it was built from as semver build metadata (`0.1.0+77106e6`): release
 * candidates share a version number, and the data dir's `written_by` and the rollback messages must tell them apart.
 */
export function versionWithRevision(version: string, revision: string | undefined): string {
  return revision && /^[0-9a-f]{7,40}$/.test(revision) ? `${version}+${revision.slice(0, 7)}` : version;
}

export const VERSION = versionWithRevision(readVersion(), process.env.ZEPHYR2MQTT_REVISION);
