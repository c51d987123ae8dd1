// The gateway must fail its start (non-zero exit) when the data dir cannot be used, so that podman auto-update
// and greenboot see a failed start and roll back instead of running on data it would damage.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CURRENT_DATA_FORMAT, FORMAT_FILE } from '../../gateway/datadir.js';
import { startTestGateway } from '../helpers/gateway.js';

const repo = join(import.meta.dirname, '..', '..');

function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'gateway', 'cli.ts'), ...args], {
      cwd: repo,
      env: { ...process.env, LOG_FORMAT: 'json' },
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
      reject(new Error(`zephyr2mqtt ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'z2m-datadir-start-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('gateway start and the data dir', () => {
  it('stamps the data dir format when the gateway starts', async () => {
    const gw = await startTestGateway();
    try {
      const marker = JSON.parse(await readFile(join(gw.dataDir, FORMAT_FILE), 'utf8')) as { format: number };
      expect(marker.format).toBe(CURRENT_DATA_FORMAT.format);
    } finally {
      await gw.stop();
    }
  });

  it('exits non-zero with the fix in the message when the data dir was written by an unreadable newer format', async () => {
    const dataDir = join(root, 'data');
    const newer = CURRENT_DATA_FORMAT.format + 1;
    await mkdir(dataDir);
    await writeFile(
      join(dataDir, FORMAT_FILE),
      JSON.stringify({
        format: newer,
        readable_from: newer,
        written_by: '99.0.0',
        updated_at: new Date().toISOString(),
      }),
    );
    const configPath = join(root, 'gateway.yaml');
    await writeFile(
      configPath,
      [
        'version: 1',
        `gateway: { data_dir: ${JSON.stringify(dataDir)} }`,
        'broker: { listeners: [{ type: mqtt, host: 127.0.0.1, port: 0 }], allow_anonymous: true }',
        'http: { host: 127.0.0.1, port: 0 }',
        'adapters: { coap: { enabled: false }, serial: { enabled: false }, ble: { enabled: false } }',
        '',
      ].join('\n'),
    );
    const result = await runCli(['run', '--config', configPath], 30_000);
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.stderr).toMatch(
      /written by zephyr2mqtt 99\.0\.0.*cannot read.*Fix: run zephyr2mqtt 99\.0\.0 or newer/,
    );
  });
});
