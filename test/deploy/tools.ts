// Host tools the deployment checks run, found or fetched, with a message naming the fix when one is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const repo = join(import.meta.dirname, '..', '..');

export function requireTool(name: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (found.status !== 0) {
    throw new Error(`${name} is not installed: run deploy/lib/host-setup.sh as root (or apt-get install ${name})`);
  }
  return found.stdout.trim();
}

/** The quadlet generator from Debian trixie's podman package, downloaded once into the CI cache. */
export function quadletBinary(): string {
  try {
    return execFileSync('bash', [join(repo, 'deploy', 'lib', 'fetch-quadlet.sh')], { encoding: 'utf8' }).trim();
  } catch (err) {
    throw new Error(`cannot fetch quadlet (deploy/lib/fetch-quadlet.sh, needs root and Debian's mirror): ${err}`);
  }
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: timeoutMs });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
