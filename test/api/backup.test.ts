// bridge/request/backup through MQTT: Zigbee2MQTT's {"zip": "<base64>"}, a ZIP of the config file and the data
// directory without its lock and the upstream queue; read back here with a reader written from the ZIP spec.
import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { backup } from '../../gateway/api/requests/backup.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

/** name -> content, from the central directory, each entry's local header and data checked against it. */
function unzip(archive: Buffer): Map<string, Buffer> {
  const end = archive.length - 22;
  expect(archive.readUInt32LE(end)).toBe(0x06054b50);
  const count = archive.readUInt16LE(end + 10);
  let at = archive.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    expect(archive.readUInt32LE(at)).toBe(0x02014b50);
    const method = archive.readUInt16LE(at + 10);
    const crc = archive.readUInt32LE(at + 16);
    const size = archive.readUInt32LE(at + 20);
    const nameLength = archive.readUInt16LE(at + 28);
    const skip = nameLength + archive.readUInt16LE(at + 30) + archive.readUInt16LE(at + 32);
    const offset = archive.readUInt32LE(at + 42);
    const name = archive.toString('utf8', at + 46, at + 46 + nameLength);
    expect(archive.readUInt32LE(offset)).toBe(0x04034b50);
    const dataAt = offset + 30 + archive.readUInt16LE(offset + 26) + archive.readUInt16LE(offset + 28);
    const body = archive.subarray(dataAt, dataAt + size);
    const data = method === 8 ? inflateRawSync(body) : Buffer.from(body);
    expect(method === 0 || method === 8).toBe(true);
    expect(crc32(data)).toBe(crc);
    files.set(name, data);
    at += 46 + skip;
  }
  return files;
}

describe('bridge/request/backup', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('makes one archive at a time: a request while one is being made gets the same answer', async () => {
    gw = await startTestGateway({ devices: [] });
    const first = backup(gw.gateway);
    const second = backup(gw.gateway);
    expect(second).toBe(first);
    const made = await first;
    expect(made.files).toContain('gateway.yaml');
    const next = backup(gw.gateway);
    expect(next).not.toBe(first);
    await next;
  });

  it('answers a base64 ZIP of the config file and the data dir, without the lock and the upstream queue', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({ devices: [{ id: 'dev1', transport: 'test' }] }, { adapterModules: [adapter.module] });
    const client = await gw.connect();
    const state = await gw.expectMessage(client, 'zephyr2mqtt/dev1');
    adapter.current().ctx.telemetry('dev1', { temperature: 21.5 });
    await state.message;
    const firmware = join(gw.dataDir, 'adapters', 'test', 'firmware');
    await mkdir(firmware, { recursive: true });
    await writeFile(join(firmware, 'app.bin'), Buffer.alloc(4096, 7));
    await mkdir(join(gw.dataDir, 'upstream', 'queue'), { recursive: true });
    await writeFile(join(gw.dataDir, 'upstream', 'queue', '00000001.seg'), 'queued');
    // A journal write still going on (the broker appends whole lines; this stands for one cut short).
    await writeFile(join(gw.dataDir, 'broker', 'journal.jsonl'), '{"torn":', { flag: 'a' });

    const res = await gw.request(client, 'backup', {});
    expect(res.status).toBe('ok');
    const data = res.data as { zip: string; files: string[] };
    const files = unzip(Buffer.from(data.zip, 'base64'));
    expect([...files.keys()]).toEqual(data.files);
    expect(files.get('gateway.yaml')?.toString()).toBe(await readFile(gw.configPath, 'utf8'));
    expect(files.get('data/adapters/test/firmware/app.bin')).toEqual(Buffer.alloc(4096, 7));
    expect(JSON.parse(files.get('data/FORMAT.json')?.toString() ?? '{}')).toMatchObject({ format: 1 });
    // The broker journal carries the retained state a restored gateway starts from, in complete lines only.
    const journal = files.get('data/broker/journal.jsonl')?.toString() ?? '';
    expect(journal).toContain('zephyr2mqtt/dev1');
    expect(journal.endsWith('\n')).toBe(true);
    expect([...files.keys()].filter((n) => n.startsWith('data/upstream') || n.endsWith('.lock'))).toEqual([]);
    expect(JSON.parse(files.get('backup.json')?.toString() ?? '{}')).toMatchObject({
      format: 1,
      config_file: gw.configPath,
      data_dir: gw.dataDir,
      left_out: { upstream: expect.stringContaining('queue') },
    });
  });

  it('refuses a backup over 64 MiB, naming the largest files, instead of answering a partial one', async () => {
    gw = await startTestGateway();
    const client = await gw.connect();
    const big = join(gw.dataDir, 'adapters', 'serial', 'firmware', 'huge.bin');
    await mkdir(join(big, '..'), { recursive: true });
    await writeFile(big, '');
    await truncate(big, 65 * 1024 * 1024); // sparse: nothing is written
    expect(await gw.request(client, 'backup', '')).toMatchObject({
      status: 'error',
      error: expect.stringMatching(
        /more than 64\.0 MiB: largest data\/adapters\/serial\/firmware\/huge\.bin \(65\.0 MiB\)/,
      ),
    });
  });
});
