// Through the real gateway: without any ota_update/check, a device with images in its own firmware/<id>/ gets
// update.latest_version in its state at start-up (so Home Assistant's update entity appears), as does a device a
// reload adds; a device without such a directory gets none. Needs the controller to run gateway/firmware-check.ts.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildImage } from '../adapters/serial/mcuboot-builder.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

type State = { update?: Record<string, unknown> };

let gw: TestGateway | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  await gw?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  gw = undefined;
  dataDir = undefined;
});

async function putImage(id: string, name: string, version: [number, number, number, number]): Promise<void> {
  const dir = join(dataDir!, 'adapters', 'serial', 'firmware', id);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, name), buildImage({ body: Buffer.alloc(500, 7), version }));
}

describe('firmware check at start-up', () => {
  it("publishes the newest image's version of each device's own directory without a request", async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-fw-start-'));
    await putImage('thermostat', 'thermostat-1.4.2.bin', [1, 4, 2, 0]);
    await putImage('thermostat', 'thermostat-1.3.0.bin', [1, 3, 0, 0]);
    await writeFile(join(dataDir, 'adapters', 'serial', 'firmware', 'thermostat', 'README.txt'), 'notes');
    gw = await startTestGateway({
      gateway: { data_dir: dataDir },
      homeassistant: { enabled: true },
      devices: [
        { id: 'thermostat', transport: 'serial', path: '/dev/ttyACM0' },
        { id: 'plain', transport: 'serial', path: '/dev/ttyACM1' },
      ],
    });
    const client = await gw.connect();
    const state = await gw.waitForMessage<State>(client, 'zephyr2mqtt/thermostat', (s) => s.update !== undefined);
    expect(state.update).toEqual({ state: 'available', latest_version: '1.4.2' });
    // Home Assistant's update entity, which needs a latest_version, is announced with it.
    const entity = await gw.waitForMessage<Record<string, unknown>>(client, 'homeassistant/update/+/update/config');
    expect(entity).toMatchObject({ device_class: 'firmware', payload_install: '{"id":"thermostat"}' });

    // A device a reload adds is checked too; one without a directory of its own never gets an update status.
    await putImage('added', 'fw.bin', [2, 0, 0, 0]);
    const config = await readFile(gw.configPath, 'utf8');
    await writeFile(
      gw.configPath,
      config.replace('devices:\n', 'devices:\n  - id: added\n    transport: serial\n    path: /dev/ttyACM2\n'),
    );
    const added = gw.waitForMessage<State>(client, 'zephyr2mqtt/added', (s) => s.update !== undefined);
    expect((await gw.request(client, 'config/reload')).status).toBe('ok');
    expect((await added).update).toEqual({ state: 'available', latest_version: '2.0.0' });
    expect(gw.gateway.devices.get('plain')?.state.update).toBeUndefined();
  });
});
