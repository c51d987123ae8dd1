// Runs a snippet of TypeScript-importing ES module code as uid/gid 65534 (nobody): the tests run as root, and
// root passes every permission check, so files "owned by root" only fail for another user.
import { spawn } from 'node:child_process';
import { chmod, chown } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NOBODY = 65534;
/** Only root can hand files to another user and start a process as one: fails the suite with how to run it. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0)
    throw new Error(
      'these tests hand files to uid 65534 and run a process as it, which needs root: run them as root (CI does)',
    );
}

const repo = join(import.meta.dirname, '..', '..');

/** Lets nobody reach `dir` through a (0700) temp root, and gives it `dir` and whatever is in it now. */
export async function giveToNobody(root: string, dir: string): Promise<void> {
  await chmod(root, 0o755);
  await chown(dir, NOBODY, NOBODY);
}

/** Runs `code` (an ES module; import from the repo with paths like './gateway/x.ts') and resolves with its stdout. */
export function runAsNobody(code: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: repo,
      uid: NOBODY,
      gid: NOBODY,
      env: { ...process.env, HOME: tmpdir() },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child as nobody did not exit within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (exitCode) => {
      clearTimeout(timer);
      if (exitCode === 0) resolve(stdout.trim());
      else reject(new Error(`child as nobody exited ${exitCode}: ${stderr}`));
    });
  });
}
