// The dashboard's Firmware section: which devices offer it, the read-only listing of the files ota_update can read
// for a device (<data_dir>/adapters/<kind>/firmware), who may list them, and paths that try to leave that directory.

import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';
import { login, user } from './helpers.js';

const devices = [
  { id: 'serial1', transport: 'serial', path: '/dev/ttyACM0' },
  { id: 'serial-off', transport: 'serial', path: '/dev/ttyACM1', smp: false },
  { id: 'serial-settings-off', transport: 'serial', path: '/dev/ttyACM2', smp: { enabled: false } },
  { id: 'ble-smp', transport: 'ble', match: { name: 'fw' }, smp: { timeout_ms: 8000 } },
  { id: 'ble-on', transport: 'ble', match: { name: 'fw2' }, smp: true },
  { id: 'ble-off', transport: 'ble', match: { name: 'fw3' }, smp: false },
  { id: 'ble-plain', transport: 'ble', match: { name: 'env' }, profile: 'ess' },
  { id: 'ble-unconnected', transport: 'ble', match: { name: 'fw4' }, smp: true, connect: false },
  { id: 'coap-smp', transport: 'coap', address: 'fd00::1', smp: { port: 1337 } },
  { id: 'coap-plain', transport: 'coap', address: 'fd00::2' },
  { id: 'other', transport: 'test' },
];

interface Listing {
  device?: string;
  dir?: string;
  files?: Array<{ name: string; size: number; mtime: string }>;
  missing?: boolean;
  error?: string;
}

describe('dashboard firmware files', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  async function start(broker: Record<string, unknown> = {}): Promise<TestGateway> {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({ devices, broker }, { adapterModules: [adapter.module] });
    return gw;
  }

  /** Where the docs tell users to copy firmware for a transport. */
  const dirOf = (g: TestGateway, kind: string) => join(g.dataDir, 'adapters', kind, 'firmware');

  async function listing(g: TestGateway, id: string, cookie?: string): Promise<{ status: number; body: Listing }> {
    const res = await fetch(`${g.httpUrl}/api/devices/${id}/firmware`, cookie ? { headers: { cookie } } : {});
    return { status: res.status, body: (await res.json()) as Listing };
  }

  it('offers firmware updates for serial devices with SMP on, BLE and CoAP devices with smp configured', async () => {
    const g = await start();
    const offered: Record<string, unknown> = {};
    for (const d of devices) {
      const detail = (await (await fetch(`${g.httpUrl}/api/devices/${d.id}`)).json()) as { firmware_update?: unknown };
      offered[d.id] = detail.firmware_update;
    }
    expect(offered).toEqual({
      serial1: true,
      'serial-off': false,
      'serial-settings-off': false,
      'ble-smp': true,
      'ble-on': true,
      'ble-off': false,
      'ble-plain': false,
      'ble-unconnected': false,
      'coap-smp': true,
      'coap-plain': false,
      other: false,
    });
    for (const id of ['serial-off', 'ble-plain', 'other', 'unknown']) {
      expect([id, (await listing(g, id)).status]).toEqual([id, 404]);
    }
  });

  it("lists the regular files of the device's adapter directory, and no link that leads out of it", async () => {
    const g = await start();
    const dir = dirOf(g, 'serial');
    await mkdir(join(dir, 'old'), { recursive: true });
    await writeFile(join(dir, 'thermostat-1.4.2.signed.bin'), Buffer.alloc(1500));
    await writeFile(join(dir, 'a.bin'), 'ab');
    await writeFile(join(dir, 'old', 'thermostat-1.4.1.signed.bin'), 'x');
    await writeFile(join(dir, 'two..dots.bin'), 'x'); // a name ota_update refuses
    await writeFile(join(g.dataDir, 'outside.bin'), 'secret');
    await symlink('a.bin', join(dir, 'latest.bin'));
    await symlink(join(g.dataDir, 'outside.bin'), join(dir, 'escape.bin'));
    await symlink('old/thermostat-1.4.1.signed.bin', join(dir, 'nested.bin'));
    await symlink('gone.bin', join(dir, 'dangling.bin'));
    await symlink(g.dataDir, join(dir, 'up'));
    const mtime = new Date('2026-03-01T10:00:00Z');
    await utimes(join(dir, 'a.bin'), mtime, mtime);
    await mkdir(dirOf(g, 'ble'), { recursive: true });
    await writeFile(join(dirOf(g, 'ble'), 'ble-only.bin'), 'b');

    const { status, body } = await listing(g, 'serial1');
    expect(status).toBe(200);
    expect(body).toEqual({
      device: 'serial1',
      dir,
      files: [
        { name: 'a.bin', size: 2, mtime: mtime.toISOString() },
        { name: 'latest.bin', size: 2, mtime: mtime.toISOString() },
        { name: 'thermostat-1.4.2.signed.bin', size: 1500, mtime: expect.any(String) },
      ],
    });
    expect((await listing(g, 'ble-smp')).body.files?.map((f) => f.name)).toEqual(['ble-only.bin']);
  });

  it('lists at most 500 files, the first by name, and says so', async () => {
    const g = await start();
    const dir = dirOf(g, 'serial');
    await mkdir(dir, { recursive: true });
    const names = Array.from({ length: 501 }, (_, i) => `fw-${String(i).padStart(3, '0')}.bin`);
    await Promise.all(names.map((name) => writeFile(join(dir, name), 'x')));
    const { body } = await listing(g, 'serial1');
    expect(body.files?.map((f) => f.name)).toEqual(names.slice(0, 500));
    expect(body).toMatchObject({ truncated: true });
  });

  it('answers an empty list and the directory to copy files to when there is none yet', async () => {
    const g = await start();
    expect(await listing(g, 'serial1')).toEqual({
      status: 200,
      body: { device: 'serial1', dir: dirOf(g, 'serial'), files: [], missing: true },
    });
    await mkdir(dirOf(g, 'ble'), { recursive: true });
    expect((await listing(g, 'ble-smp')).body).toEqual({ device: 'ble-smp', dir: dirOf(g, 'ble'), files: [] });
  });

  it('refuses device ids that try to leave the directory, and lists nothing for them', async () => {
    const g = await start();
    await mkdir(dirOf(g, 'serial'), { recursive: true });
    await writeFile(join(g.dataDir, 'outside.bin'), 'secret');
    // A "/" or NUL in an id is refused; any other id is only looked up among the configured devices.
    const expected: Record<string, number> = {
      '..': 404,
      '%2E%2E': 404,
      '..%5C..': 404,
      '..%2F..': 400,
      '%2E%2E%2Fserial': 400,
      'serial1%2F..': 400,
      'a%00b': 400,
      '%E0%A4%A': 400,
    };
    for (const [id, want] of Object.entries(expected)) {
      const { status, body } = await listing(g, id);
      expect([id, status, body.files]).toEqual([id, want, undefined]);
    }
    // Not normalised by a client: the server resolves the dot segments, which leave /api/.
    for (const path of ['/api/devices/../../../outside.bin/firmware', '/api/devices/serial1/../../firmware']) {
      const raw = await rawGet(g.httpUrl, path);
      expect([path, raw.status]).toEqual([path, 404]);
      expect(raw.body).not.toContain('outside.bin');
    }
  });

  it("lists only for users who may read the device and publish ota_update, like the broker's ACL", async () => {
    const users = [
      await user('admin', [{ allow: 'both', topic: '#' }]),
      await user('viewer', [{ allow: 'subscribe', topic: 'zephyr2mqtt/serial1/#' }]),
      await user('writer', [{ allow: 'publish', topic: 'zephyr2mqtt/#' }]),
      await user('updater', [
        { allow: 'subscribe', topic: 'zephyr2mqtt/serial1/#' },
        { allow: 'publish', topic: 'zephyr2mqtt/bridge/request/device/ota_update' },
      ]),
    ];
    const g = await start({ allow_anonymous: false, users });
    expect((await listing(g, 'serial1')).status).toBe(401);
    const status = async (who: string, id: string) =>
      (await listing(g, id, await login(g.httpUrl, who, `${who}-pw`))).status;
    expect(await status('admin', 'serial1')).toBe(200);
    expect(await status('updater', 'serial1')).toBe(200);
    expect(await status('updater', 'ble-smp')).toBe(403);
    expect(await status('viewer', 'serial1')).toBe(403);
    expect(await status('writer', 'serial1')).toBe(403);
  });

  it('holds anonymous users to anonymous_acl', async () => {
    const g = await start({
      allow_anonymous: true,
      anonymous_acl: [{ allow: 'subscribe', topic: 'zephyr2mqtt/#' }],
    });
    const { status, body } = await listing(g, 'serial1');
    expect(status).toBe(403);
    expect(body.error).toBe('anonymous may not publish to zephyr2mqtt/bridge/request/device/ota_update');
  });
});

/** A GET whose path goes out as written (fetch would resolve its dot segments first). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
