// The gateway must fail its start (non-zero exit) when the data dir cannot be used, so that podman auto-update
// and greenboot see a failed start and roll back instead of running on data it would damage.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CURRENT_DATA_FORMAT, FORMAT_FILE, LOCK_FILE } from '../../gateway/datadir.js';
import { type ChildGateway, CLI, runCli, startChildGateway } from '../helpers/child-gateway.js';
import { startTestGateway } from '../helpers/gateway.js';

/** A gateway config on fixed ports, so that a second gateway started on it collides with the first. */
async function writeConfig(dataDir: string, mqttPort: number, httpPort: number): Promise<string> {
  const configPath = join(root, 'gateway.yaml');
  await writeFile(
    configPath,
    [
      `gateway: { data_dir: ${JSON.stringify(dataDir)} }`,
      `broker: { listeners: [{ type: mqtt, host: 127.0.0.1, port: ${mqttPort} }], allow_anonymous: true }`,
      `http: { host: 127.0.0.1, port: ${httpPort} }`,
      'adapters: { coap: { enabled: false }, serial: { enabled: false }, ble: { enabled: false } }',
      '',
    ].join('\n'),
  );
  return configPath;
}

async function publishRetained(url: string, topic: string, payload: string): Promise<void> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  await client.publishAsync(topic, payload, { qos: 1, retain: true });
  await client.endAsync();
}

async function fileState(path: string): Promise<{ ino: number; text: string }> {
  return { ino: (await stat(path)).ino, text: await readFile(path, 'utf8') };
}

let root: string;
let running: ChildGateway | undefined;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'z2m-datadir-start-'));
});
afterEach(async () => {
  running?.kill();
  await running?.exited;
  running = undefined;
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
    const result = await runCli(['run', '--config', configPath], { timeoutMs: 30_000 });
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.stderr).toMatch(
      /written by zephyr2mqtt 99\.0\.0.*cannot read.*Fix: run zephyr2mqtt 99\.0\.0 or newer/,
    );
  });

  it('a start that fails before the broker is up rejects with its one error, and leaves no rejection unhandled', async () => {
    const dataDir = join(root, 'data');
    const newer = CURRENT_DATA_FORMAT.format + 1;
    await mkdir(dataDir);
    const format = { format: newer, readable_from: newer, written_by: '99.0.0', updated_at: new Date().toISOString() };
    await writeFile(join(dataDir, FORMAT_FILE), JSON.stringify(format));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(startTestGateway({ gateway: { data_dir: dataDir } })).rejects.toThrow(/cannot read/);
      // Node reports unhandled rejections once the microtasks have run: a macrotask later they would be in.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a second gateway on a data dir in use exits 1 naming the holder, and leaves its broker journal alone', async () => {
    const dataDir = join(root, 'data');
    const configPath = await writeConfig(dataDir, 0, 0);
    running = await startChildGateway(configPath, CLI);
    await publishRetained(running.mqttUrl, 'held/a', 'one');
    const journal = join(dataDir, 'broker', 'journal.jsonl');
    // Retained messages reach the journal at the next group commit, not necessarily before the PUBACK.
    await expect.poll(() => readFile(journal, 'utf8')).toContain('held/a');
    const before = await fileState(journal);

    const second = await runCli(['run', '--config', configPath], { timeoutMs: 30_000 });
    expect(await fileState(journal)).toEqual(before);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `data_dir ${dataDir} is in use by another zephyr2mqtt (pid ${running.child.pid}); ` +
        'stop it or give this one another gateway.data_dir',
    );
    // The first gateway still writes to the journal a restart reads.
    await publishRetained(running.mqttUrl, 'held/b', 'two');
    await expect.poll(() => readFile(journal, 'utf8')).toContain('held/b');
    expect((await stat(journal)).ino).toBe(before.ino);
  }, 60_000);

  it('a gateway killed with SIGKILL starts again at once, and one stopped with SIGTERM leaves no lock', async () => {
    const dataDir = join(root, 'data');
    const configPath = await writeConfig(dataDir, 0, 0);
    const killed = await startChildGateway(configPath, CLI);
    killed.child.kill('SIGKILL');
    await killed.exited;
    expect((await stat(join(dataDir, LOCK_FILE))).isSocket()).toBe(true);

    running = await startChildGateway(configPath, CLI);
    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    expect(await readdir(dataDir)).not.toContain(LOCK_FILE);
  }, 60_000);
});
