// A pseudo-terminal pair from socat: the gateway opens one end, a simulated device the other.
// Killing socat is a hot-unplug (both links disappear); starting it again with the same links is a re-plug.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface PtyPair {
  gatewayPath: string;
  devicePath: string;
  /** Kills socat (unplug) and resolves once both links are gone. */
  unplug(): Promise<void>;
  /** Starts socat again with the same links. */
  plug(): Promise<void>;
}

export function requireSocat(): void {
  if (spawnSync('socat', ['-V']).error) throw new Error('socat not found: install socat: apt-get install socat');
}

export async function startPtyPair(dir: string, timeoutMs = 5000): Promise<PtyPair> {
  requireSocat();
  const gatewayPath = join(dir, 'ttyGW');
  const devicePath = join(dir, 'ttyDEV');
  let child: ChildProcess | undefined;

  const plug = async (): Promise<void> => {
    const proc = spawn(
      'socat',
      ['-d', '-d', `pty,raw,echo=0,link=${gatewayPath}`, `pty,raw,echo=0,link=${devicePath}`],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      const timer = setTimeout(
        () => reject(new Error(`socat did not start within ${timeoutMs} ms: ${stderr}`)),
        timeoutMs,
      );
      proc.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('starting data transfer loop') && existsSync(gatewayPath) && existsSync(devicePath)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`socat exited with ${code}: ${stderr}`));
      });
    });
  };

  const unplug = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    await exited;
  };

  await plug();
  return { gatewayPath, devicePath, unplug, plug };
}
