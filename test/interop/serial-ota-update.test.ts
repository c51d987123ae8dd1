// bridge/request/device/ota_update end to end on a real pty (socat, as test/interop/serial-pty.test.ts): the
// serial adapter uploads an MCUboot image from its firmware directory to a simulated device speaking img_mgmt
// in SMP serial frames, marks it for test and resets it, and reports progress in the device state.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SERIAL_FRAMING_OVERHEAD } from '../../adapters/common/smp/serial-frame.js';
import { serialAdapterConfigSchema } from '../../adapters/serial/config.js';
import { SerialAdapter } from '../../adapters/serial/serial-adapter.js';
import { ImgMgmtDevice, type ImgMgmtFaults, ImgMgmtPtyDevice } from '../adapters/serial/img-mgmt-sim.js';
import { buildImage, imageHashOf } from '../adapters/serial/mcuboot-builder.js';
import { RecordingContext } from '../adapters/serial/recording-context.js';
import { type PtyPair, startPtyPair } from '../sim/serial/pty-pair.js';

/** A RecordingContext whose adapter data directory is a real one (RecordingContext's is typed as a constant). */
function contextWithDataDir(dataDir: string, path: string, smp: Record<string, unknown> = {}): RecordingContext {
  const ctx = new RecordingContext([{ id: 'board', transport: 'serial', path, smp } as never]);
  Object.defineProperty(ctx, 'dataDir', { value: dataDir });
  return ctx;
}

const FILE = 'app-1.4.2.signed.bin';
const image = buildImage({
  body: Uint8Array.from({ length: 6000 }, (_, i) => (i * 7 + 3) & 0xff),
  version: [1, 4, 2, 0],
  hdrSize: 0x200,
  protectedTlvs: [{ type: 0x50, value: Uint8Array.of(1, 0, 0, 0) }],
});
const imageHash = imageHashOf(image, 12).toString('hex');

let dir: string;
let pty: PtyPair;
let adapter: SerialAdapter | undefined;
let sim: ImgMgmtPtyDevice | undefined;
let firmwareDir: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ota-pty-'));
  pty = await startPtyPair(dir);
});

afterEach(async () => {
  await adapter?.stop();
  await sim?.close();
  await pty.unplug();
  adapter = undefined;
  sim = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function start(faults: ImgMgmtFaults = {}, smp: Record<string, unknown> = {}) {
  const dataDir = join(dir, 'data', 'adapters', 'serial');
  firmwareDir = join(dataDir, 'firmware');
  mkdirSync(firmwareDir, { recursive: true });
  writeFileSync(join(firmwareDir, FILE), image);
  const ctx = contextWithDataDir(dataDir, pty.gatewayPath, smp);
  adapter = new SerialAdapter(serialAdapterConfigSchema.parse({ scan_interval_ms: 100 }), ctx);
  await adapter.start();
  await adapter.link('board')!.opened();
  const device = new ImgMgmtDevice(faults);
  sim = await ImgMgmtPtyDevice.open(pty.devicePath, device);
  return { ctx, device };
}

const ota = (data: Record<string, unknown>) => adapter!.request('ota_update', 'board', { device: 'board', ...data });

async function rejection(promise: Promise<unknown>): Promise<Error & { data?: Record<string, unknown> }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error & { data?: Record<string, unknown> };
}

const updates = (ctx: RecordingContext) =>
  ctx
    .of('telemetry')
    .map((c) => c.values.update as Record<string, unknown> | undefined)
    .filter((u) => u !== undefined);

describe('device/ota_update on a pty', () => {
  it('uploads the image, marks it for test, resets the device and reports progress', async () => {
    const { ctx, device } = await start();
    const result = (await ota({ file: FILE })) as Record<string, unknown>;

    expect(device.stored().equals(image)).toBe(true);
    // Length + packet + CRC must fit the device's buffer, or Zephyr drops the packet without an answer.
    expect(Math.max(...sim!.packetSizes) + SERIAL_FRAMING_OVERHEAD).toBeLessThanOrEqual(device.bufSize);
    expect(sim!.droppedPackets).toBe(0);
    // Chunks of three frames (93 raw bytes each) reach a device with Zephyr's two line buffers without losing one.
    expect(Math.max(...sim!.packetSizes) + SERIAL_FRAMING_OVERHEAD).toBeGreaterThan(2 * 93);
    expect(sim!.droppedFrames).toBe(0);
    expect(device.testHash?.toString('hex')).toBe(imageHash);
    expect(device.resets).toBe(1);
    expect(result).toMatchObject({
      device: 'board',
      file: FILE,
      bytes: image.length,
      version: '1.4.2',
      hash: imageHash,
      tested: true,
      reset: true,
      reset_confirmed: true,
      slots: [
        { slot: 0, version: '1.0.0', active: true, confirmed: true },
        { slot: 1, version: '1.4.2', hash: imageHash, pending: true },
      ],
    });
    expect(result.seconds).toEqual(expect.any(Number));
    // The reset comes after the state write, which comes after the last chunk.
    const order = device.requests.map((r) => `${r.header.group}/${r.header.id}/${r.header.op}`);
    expect(order.slice(-3)).toEqual(['1/0/0', '1/0/2', '0/5/2']);

    const states = updates(ctx);
    const progress = states.filter((u) => u.state === 'updating');
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.at(-1)).toEqual({
      state: 'updating',
      progress: 100,
      remaining: 0,
      installed_version: '1.0.0',
      latest_version: '1.4.2',
    });
    expect(states.at(-1)).toEqual({ state: 'idle', installed_version: '1.0.0', latest_version: '1.4.2' });
  });

  it('uploads only when asked not to test or reset, and follows a device that asks for an earlier offset', async () => {
    const { device } = await start({ rewindOnceAt: 2500 });
    // Zigbee2MQTT's topic and key: bridge/request/device/ota_update/update with {"id"}.
    const result = await adapter!.request('ota_update/update', 'board', {
      id: 'board',
      file: FILE,
      test: false,
      reset: false,
    });
    expect(device.stored().equals(image)).toBe(true);
    expect(result).toMatchObject({ tested: false, reset: false, slots: [] });
    expect(device.testHash).toBeUndefined();
    expect(device.resets).toBe(0);
    const offs = device.uploadRequests().map((r) => r.body.off as number);
    expect(offs.some((o, i) => i > 0 && o < offs[i - 1]!)).toBe(true);
  });

  it('waits for the erase before the first chunk is answered, longer than the per-request timeout', async () => {
    // Times scaled down: 100 ms per request, no retries, a 500 ms erase.
    const { device } = await start({ eraseMs: 500 }, { timeout_ms: 100, retries: 0 });
    await expect(ota({ file: FILE })).resolves.toMatchObject({ bytes: image.length, reset_confirmed: true });
    expect(device.stored().equals(image)).toBe(true);
  });

  it('finishes when the answer to the last chunk is lost, without uploading again', async () => {
    const { device } = await start({ loseLastChunkAnswerOnce: true }, { timeout_ms: 200, retries: 2 });
    await expect(ota({ file: FILE })).resolves.toMatchObject({ bytes: image.length, tested: true });
    expect(device.lostAnswers).toBe(1);
    expect(device.uploadRequests().filter((r) => r.body.off === 0)).toHaveLength(1);
    expect(device.testHash?.toString('hex')).toBe(imageHash);
  });

  it('answers a device error mid-upload with the offset reached and update.state failed', async () => {
    const { ctx, device } = await start({ failAt: { offset: 3000, rc: 6 } });
    const err = await rejection(ota({ file: FILE }));
    const reached = device.uploadRequests().at(-1)!.body.off as number;
    expect(err.message).toBe(
      `device "board": firmware upload failed at offset ${reached} of ${image.length}: ` +
        'SMP group 1 id 1: rc 6 (bad state)',
    );
    expect(err.data).toMatchObject({ device: 'board', file: FILE, offset: reached, rc: 6, rc_name: 'bad state' });
    expect(updates(ctx).at(-1)).toEqual({
      state: 'failed',
      installed_version: '1.0.0',
      latest_version: '1.4.2',
      error: err.message,
    });
    expect(device.resets).toBe(0);
  });

  it('names the step that failed after a complete upload and does not reset', async () => {
    const { ctx, device } = await start({ stateWriteRc: 2 });
    const err = await rejection(ota({ file: FILE }));
    expect(err.message).toBe(
      `device "board": uploaded all ${image.length} bytes of "${FILE}", then the image state write failed: ` +
        'SMP group 1 id 0: rc 2 (no memory)',
    );
    expect(err.data).toMatchObject({ offset: image.length, rc: 2, rc_name: 'no memory', group: 1, id: 0 });
    expect(device.stored().equals(image)).toBe(true);
    expect(device.resets).toBe(0);
    expect(updates(ctx).at(-1)).toMatchObject({ state: 'failed' });
  });

  it('cancels a running upload on {"cancel": true}', async () => {
    const { ctx, device } = await start({ holdUpload: true });
    const upload = ota({ file: FILE });
    await device.uploadChunksHandled(1);
    await expect(ota({ cancel: true })).resolves.toEqual({ device: 'board', file: FILE, cancelled: true, offset: 0 });
    const err = await rejection(upload);
    expect(err.message).toBe(`device "board": firmware upload cancelled at offset 0 of ${image.length}`);
    expect(updates(ctx).at(-1)).toMatchObject({ state: 'failed' });
    await expect(ota({ cancel: true })).rejects.toThrow('no firmware upload is running on device "board"');
    device.release();
  });

  it('goes on through a new display name for the device (device/rename), without reopening the port', async () => {
    const { ctx, device } = await start({ holdUpload: true });
    const link = adapter!.link('board');
    const upload = ota({ file: FILE });
    await device.uploadChunksHandled(1);
    // What bridge/request/device/rename {"from": "board", "name": ...} leaves in the device list.
    ctx.deviceList = [{ ...ctx.deviceList[0]!, name: 'Board display name' }];
    await adapter!.devicesChanged();
    expect(adapter!.link('board')).toBe(link);
    device.release();
    await expect(upload).resolves.toMatchObject({ bytes: image.length, reset_confirmed: true });
    expect(device.stored().equals(image)).toBe(true);
    expect(link!.status()).toMatchObject({ open: true, opens: 1 });
  });

  it('ends an upload when a reload changes the SMP settings the open port uses, and says so', async () => {
    const { ctx, device } = await start({ holdUpload: true });
    const upload = ota({ file: FILE });
    await device.uploadChunksHandled(1);
    const failed = rejection(upload);
    ctx.deviceList = [{ ...ctx.deviceList[0]!, smp: { timeout_ms: 4000 } }];
    await adapter!.devicesChanged();
    const err = await failed;
    expect(err.message).toBe(
      `device "board": firmware upload failed at offset 0 of ${image.length}: device entry changed by a config reload`,
    );
    device.release();
  });

  it('refuses a second upload to the same device while one runs; other SMP requests still get answers', async () => {
    const { device } = await start({ holdUpload: true });
    const first = ota({ file: FILE });
    await device.uploadChunksHandled(1);
    await expect(ota({ file: FILE })).rejects.toThrow(`device "board" is already receiving "${FILE}" (at offset 0)`);
    // An image_state read queues behind the chunk in flight and is answered once the device answers that chunk.
    const state = adapter!.request('smp', 'board', { device: 'board', command: 'image_state' });
    device.release();
    await expect(state).resolves.toMatchObject({ command: 'image_state', rc: 0 });
    await expect(first).resolves.toMatchObject({ bytes: image.length });
    expect(device.stored().equals(image)).toBe(true);
  });

  it('reads only plain file names inside the firmware directory', async () => {
    const { ctx, device } = await start();
    writeFileSync(join(dir, 'data', 'adapters', 'secret.bin'), image);
    for (const file of ['../secret.bin', '/etc/passwd', '..', 'a/b.bin', 'a\\b.bin', `${firmwareDir}/${FILE}`]) {
      await expect(ota({ file }), file).rejects.toThrow(
        `"file" must be a plain file name inside ${firmwareDir}, without "/", "\\" or ".."`,
      );
    }
    await expect(ota({ file: 'missing.bin' })).rejects.toThrow(
      `firmware file "missing.bin" not found: put it in ${firmwareDir}/`,
    );
    writeFileSync(join(firmwareDir, 'zephyr.elf'), Buffer.concat([Buffer.from('\x7fELF'), Buffer.alloc(60)]));
    await expect(ota({ file: 'zephyr.elf' })).rejects.toThrow(
      `${join(firmwareDir, 'zephyr.elf')}: not an MCUboot image: bad magic 0x464c457f`,
    );
    await expect(ota({ file: FILE, tset: true })).rejects.toThrow(/invalid ota_update request/);
    expect(device.requests).toEqual([]);
    expect(ctx.of('telemetry')).toEqual([]);
  });
});
