// The ota_update request reports its progress (`update` in the device state) as the gateway's own status
// (AdapterContext.deviceStatus), never as telemetry: telemetry is a sign of life, and a device unplugged mid-upload
// must not be reported online by its own "failed".
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmpClient } from '../../../adapters/common/smp/client.js';
import { runOtaRequest } from '../../../adapters/common/smp/ota-request.js';
import { decodeSmpMessage } from '../../../adapters/common/smp/packet.js';
import { answerPacket, ImgMgmtDevice, type ImgMgmtFaults } from './img-mgmt-sim.js';
import { buildImage } from './mcuboot-builder.js';
import { RecordingContext } from './recording-context.js';

const FILE = 'app.signed.bin';
const image = buildImage({ body: Uint8Array.from({ length: 2000 }, (_, i) => (i * 7 + 1) & 0xff) });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ota-status-'));
  mkdirSync(join(dir, 'firmware'));
  writeFileSync(join(dir, 'firmware', FILE), image);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function connect(faults: ImgMgmtFaults = {}) {
  const device = new ImgMgmtDevice(faults);
  const smp: SmpClient = new SmpClient({
    send: (packet) => {
      const msg = decodeSmpMessage(packet);
      if (!msg.ok) throw new Error(msg.reason);
      void answerPacket(device, msg.value).then((res) => {
        if (res) smp.handlePacket(res);
      });
    },
    timeoutMs: 50,
    retries: 2,
  });
  const ctx = new RecordingContext([]);
  Object.defineProperty(ctx, 'dataDir', { value: dir });
  const ota = (data: Record<string, unknown>) => runOtaRequest({ ctx, deviceId: 'board', smp }, data);
  return { ctx, ota };
}

describe('ota_update progress', () => {
  it('goes through deviceStatus from the first "updating" to "idle"', async () => {
    const { ctx, ota } = connect();
    await ota({ file: FILE });
    const updates = ctx.of('telemetry');
    expect(updates.map((c) => (c.values.update as { state: string }).state)).toEqual([
      ...Array<string>(updates.length - 1).fill('updating'),
      'idle',
    ]);
    expect(updates.length).toBeGreaterThan(1);
    for (const call of updates) expect(call).toMatchObject({ deviceId: 'board', status: true });
  });

  it('reports a failure through deviceStatus too', async () => {
    const { ctx, ota } = connect({ failAt: { offset: 512, rc: 5 } });
    await expect(ota({ file: FILE })).rejects.toThrow(/firmware upload failed at offset/);
    const updates = ctx.of('telemetry');
    expect(updates.at(-1)).toMatchObject({ status: true, values: { update: { state: 'failed' } } });
    for (const call of updates) expect(call).toMatchObject({ status: true });
  });
});
