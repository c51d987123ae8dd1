// The dashboard's Firmware section: which devices offer it, the read-only listing of the files ota_update can read
// for a device (<data_dir>/adapters/<kind>/firmware, and the device's own firmware/<id>/ with image versions), who
// may list them, paths that try to leave that directory, and an update of a device image chosen from the list.

import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ImgMgmtDevice } from '../adapters/serial/img-mgmt-sim.js';
import { buildImage } from '../adapters/serial/mcuboot-builder.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';
import { ImgMgmtUdpDevice } from '../sim/coap/smp-udp-device.js';
import { login, postJson, user } from './helpers.js';

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
  device_dir?: {
    dir: string;
    files: Array<{ name: string; size: number; mtime: string; version?: string; newest?: boolean }>;
    missing?: boolean;
    error?: string;
  };
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
      device_dir: { dir: join(dir, 'serial1'), files: [], missing: true },
      files: [
        { name: 'a.bin', size: 2, mtime: mtime.toISOString() },
        { name: 'latest.bin', size: 2, mtime: mtime.toISOString() },
        { name: 'thermostat-1.4.2.signed.bin', size: 1500, mtime: expect.any(String) },
      ],
    });
    expect((await listing(g, 'ble-smp')).body.files?.map((f) => f.name)).toEqual(['ble-only.bin']);
  });

  it("lists the device's own images as <id>/<name>, highest version first, the newest marked, no link out", async () => {
    const g = await start();
    const dir = dirOf(g, 'serial');
    const own = join(dir, 'serial1');
    await mkdir(join(own, 'old'), { recursive: true });
    await mkdir(join(dir, 'serial-off'), { recursive: true });
    const v19 = buildImage({ body: Buffer.alloc(100, 1), version: [1, 9, 0, 0] });
    const v110 = buildImage({ body: Buffer.alloc(100, 2), version: [1, 10, 0, 0] });
    await writeFile(join(own, 'a-1.9.0.bin'), v19);
    await writeFile(join(own, 'b-1.10.0.bin'), v110);
    await writeFile(join(own, 'README.txt'), 'notes');
    await writeFile(join(own, 'two..dots.bin'), v19); // a name ota_update refuses
    await writeFile(join(own, 'old', 'c-1.0.0.bin'), v19); // deeper: not the device's directory
    await writeFile(join(dir, 'shared-1.8.0.bin'), v19);
    await writeFile(join(dir, 'serial-off', 'other-device.bin'), v110);
    await writeFile(join(g.dataDir, 'outside.bin'), v110);
    await symlink('../shared-1.8.0.bin', join(own, 'shared.bin')); // inside firmware/: listed
    await symlink(join(g.dataDir, 'outside.bin'), join(own, 'escape.bin'));
    await symlink('../../../..', join(own, 'up'));
    const mtime = new Date('2026-03-01T10:00:00Z');
    await utimes(join(own, 'b-1.10.0.bin'), mtime, mtime);
    // Equal versions: the newer file first.
    const older = new Date('2026-01-01T10:00:00Z');
    const newer = new Date('2026-02-01T10:00:00Z');
    await utimes(join(own, 'a-1.9.0.bin'), older, older);
    await utimes(join(dir, 'shared-1.8.0.bin'), newer, newer);

    const { status, body } = await listing(g, 'serial1');
    expect(status).toBe(200);
    expect(body.files?.map((f) => f.name)).toEqual(['shared-1.8.0.bin']);
    expect(body.device_dir).toEqual({
      dir: own,
      files: [
        {
          name: 'serial1/b-1.10.0.bin',
          size: v110.length,
          mtime: mtime.toISOString(),
          version: '1.10.0',
          newest: true,
        },
        { name: 'serial1/shared.bin', size: v19.length, mtime: newer.toISOString(), version: '1.9.0' },
        { name: 'serial1/a-1.9.0.bin', size: v19.length, mtime: older.toISOString(), version: '1.9.0' },
        { name: 'serial1/README.txt', size: 5, mtime: expect.any(String) },
      ],
    });
  });

  it("looks at no more than 64 files of the device's directory, as an update without a file, and says why", async () => {
    const g = await start();
    const own = join(dirOf(g, 'serial'), 'serial1');
    await mkdir(own, { recursive: true });
    await writeFile(join(dirOf(g, 'serial'), 'top.bin'), 'x');
    await Promise.all(Array.from({ length: 65 }, (_, i) => writeFile(join(own, `r${i}.bin`), 'x')));
    const { status, body } = await listing(g, 'serial1');
    expect(status).toBe(200);
    expect(body.files?.map((f) => f.name)).toEqual(['top.bin']);
    expect(body.device_dir).toEqual({
      dir: own,
      files: [],
      error: `${own} holds 65 files, more than 64: keep the device's releases there`,
    });
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
      body: {
        device: 'serial1',
        dir: dirOf(g, 'serial'),
        files: [],
        missing: true,
        device_dir: { dir: join(dirOf(g, 'serial'), 'serial1'), files: [], missing: true },
      },
    });
    await mkdir(join(dirOf(g, 'ble'), 'ble-smp'), { recursive: true });
    expect((await listing(g, 'ble-smp')).body).toEqual({
      device: 'ble-smp',
      dir: dirOf(g, 'ble'),
      files: [],
      device_dir: { dir: join(dirOf(g, 'ble'), 'ble-smp'), files: [] },
    });
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

describe("dashboard firmware update from the device's own directory", () => {
  let gw: TestGateway | undefined;
  let sim: ImgMgmtUdpDevice | undefined;
  afterEach(async () => {
    await gw?.stop();
    await sim?.close();
    gw = undefined;
    sim = undefined;
  });

  it('installs the <id>/<name> picked from the list, and refuses paths that leave that directory', async () => {
    sim = await ImgMgmtUdpDevice.start(new ImgMgmtDevice());
    gw = await startTestGateway({
      adapters: { coap: { enabled: true, port: 0 } },
      devices: [{ id: 'node', transport: 'coap', address: '::1', smp: { port: sim.port, timeout_ms: 300 } }],
    });
    const dir = join(gw.dataDir, 'adapters', 'coap', 'firmware');
    const image = buildImage({ body: Buffer.alloc(3000, 0x5a), version: [2, 1, 0, 0] });
    await mkdir(join(dir, 'node', 'sub'), { recursive: true });
    await mkdir(join(dir, 'other'), { recursive: true });
    await writeFile(join(dir, 'node', 'node-2.1.0.bin'), image);
    for (const file of [
      join(gw.dataDir, 'outside.bin'),
      join(dir, 'other', 'x.bin'),
      join(dir, 'node', 'sub', 'x.bin'),
    ])
      await writeFile(file, image);
    await symlink(join(gw.dataDir, 'outside.bin'), join(dir, 'node', 'escape.bin'));
    const update = async (file: string) =>
      (await (await postJson(`${gw!.httpUrl}/api/request/device/ota_update`, { device: 'node', file })).json()) as {
        status: string;
        data: Record<string, unknown>;
        error?: string;
      };

    const refused = {
      'node/../outside.bin': /must be a plain file name/,
      'node/../../../outside.bin': /must be a plain file name/,
      'node/sub/x.bin': /must be a plain file name/,
      'other/x.bin': /must be a plain file name/,
      'node/': /must be a plain file name/,
      [join(dir, 'node', 'node-2.1.0.bin')]: /must be a plain file name/,
      'node/escape.bin': /escape\.bin is a link that leads out of .*: only files inside it are read/,
    };
    for (const [file, why] of Object.entries(refused)) {
      const res = await update(file);
      expect([file, res.status]).toEqual([file, 'error']);
      expect(res.error, file).toMatch(why);
    }
    expect(sim.device.requests).toEqual([]); // refused before a byte went to the device

    const listed = (await (await fetch(`${gw.httpUrl}/api/devices/node/firmware`)).json()) as Listing;
    const choice = listed.device_dir?.files.find((f) => f.newest)?.name;
    expect(choice).toBe('node/node-2.1.0.bin');
    const res = await update(choice!);
    expect(res).toMatchObject({
      status: 'ok',
      data: { device: 'node', file: 'node/node-2.1.0.bin', version: '2.1.0' },
    });
    expect(sim.device.stored().equals(image)).toBe(true);
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
