// The ota_update request handler (shared by serial and BLE) over an in-process SMP client against the simulated
// device: what it checks in the image state before uploading, SHA-512 images, and a reset whose answer is lost.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmpClient } from '../../../adapters/common/smp/client.js';
import { isOtaRequestName, runOta, runOtaRequest } from '../../../adapters/common/smp/ota-request.js';
import { decodeSmpMessage, type SmpMessage } from '../../../adapters/common/smp/packet.js';
import { answerPacket, ImgMgmtDevice, type ImgMgmtFaults } from './img-mgmt-sim.js';
import { buildImage, imageHashOf } from './mcuboot-builder.js';
import { RecordingContext } from './recording-context.js';

const body = (seed: number) => Uint8Array.from({ length: 2000 }, (_, i) => (i * seed + 1) & 0xff);
const FILE = 'app.signed.bin';
const OTHER = 'other.signed.bin';
const image = buildImage({ body: body(7), version: [1, 4, 2, 0] });
const other = buildImage({ body: body(11), version: [1, 5, 0, 0] });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ota-request-'));
  mkdirSync(join(dir, 'firmware'));
  writeFileSync(join(dir, 'firmware', FILE), image);
  writeFileSync(join(dir, 'firmware', OTHER), other);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** `onSend` sees every request before the device answers it. */
function connect(faults: ImgMgmtFaults = {}, onSend: (msg: SmpMessage) => void = () => undefined) {
  const device = new ImgMgmtDevice(faults);
  const smp: SmpClient = new SmpClient({
    send: (packet) => {
      const msg = decodeSmpMessage(packet);
      if (!msg.ok) throw new Error(msg.reason);
      onSend(msg.value);
      void answerPacket(device, msg.value).then((res) => {
        if (res) smp.handlePacket(res);
      });
    },
    timeoutMs: 50,
    retries: 2,
  });
  const { ctx, logs } = loggingContext();
  const ota = (data: Record<string, unknown>) => runOtaRequest({ ctx, deviceId: 'board', smp }, data);
  return { device, ctx, ota, logs };
}

/** A context in the test's data directory whose log lines (info and up) are kept as parsed JSON. */
function loggingContext() {
  const ctx = new RecordingContext([]);
  const logs: Record<string, unknown>[] = [];
  Object.defineProperty(ctx, 'dataDir', { value: dir });
  Object.defineProperty(ctx, 'logger', {
    value: pino({ level: 'info', base: undefined }, { write: (line: string) => logs.push(JSON.parse(line)) }),
  });
  return { ctx, logs };
}

const INFO = 30;
const WARN = 40;

describe('ota_update request', () => {
  it('refuses an upload while slot 1 holds an image pending test, before sending a chunk', async () => {
    const { device, ota } = connect();
    await ota({ file: FILE, reset: false });
    expect(device.testHash?.toString('hex')).toBe(imageHashOf(image).toString('hex'));
    const chunks = device.uploadRequests().length;
    await expect(ota({ file: OTHER })).rejects.toThrow(
      `device "board" cannot take "${OTHER}" now: slot 1 holds an image pending test (1.4.2): reset the device to ` +
        'run it, or confirm the running image with device/smp image_state write {"confirm": true}',
    );
    expect(device.uploadRequests()).toHaveLength(chunks);
  });

  it('refuses an upload while the running test image is unconfirmed (slot 1 is needed to revert)', async () => {
    const { device, ctx, ota } = connect();
    device.runningConfirmed = false;
    await expect(ota({ file: FILE })).rejects.toThrow(/not confirmed, so the other slot is needed to revert/);
    expect(device.uploadRequests()).toEqual([]);
    expect(ctx.of('telemetry')).toEqual([]);
  });

  it('answers at once when the file is the firmware already running', async () => {
    const { device, ota } = connect();
    device.runningHash = imageHashOf(image);
    const result = await ota({ file: FILE });
    expect(result).toMatchObject({
      file: FILE,
      already_running: true,
      uploaded: 0,
      hash: imageHashOf(image).toString('hex'),
      slots: [{ slot: 0, active: true }],
    });
    expect(device.uploadRequests()).toEqual([]);
    expect(device.resets).toBe(0);
  });

  it('marks an image hashed with SHA-512 for test', async () => {
    const plain = buildImage({ body: body(13), noSha: true });
    const sha512 = createHash('sha512')
      .update(plain.subarray(0, 32 + 2000))
      .digest();
    writeFileSync(
      join(dir, 'firmware', 'sha512.bin'),
      buildImage({ body: body(13), noSha: true, tlvs: [{ type: 0x12, value: sha512 }] }),
    );
    const { device, ota } = connect();
    const result = await ota({ file: 'sha512.bin', reset: false });
    expect(result).toMatchObject({ hash: sha512.toString('hex'), tested: true });
    expect(device.testHash?.equals(sha512)).toBe(true);
  });

  it('sends the reset once and reports a reset whose answer never came as sent, not confirmed', async () => {
    const { device, ota } = connect({ loseResetAnswer: true });
    const result = await ota({ file: FILE });
    expect(result).toMatchObject({ tested: true, reset: true, reset_confirmed: false });
    expect(device.resets).toBe(1);
  });

  it('refuses a cancel after the last chunk was answered: the image is marked for test and the device reset', async () => {
    let cancelAnswer: Promise<unknown> | undefined;
    const isStateRead = (m: SmpMessage) => m.header.group === 1 && m.header.id === 0 && m.header.op === 0;
    const { device, ctx, ota } = connect({}, (msg) => {
      // The image state read after the upload: every chunk has been answered.
      if (isStateRead(msg) && device.uploadRequests().length > 0) cancelAnswer ??= ota({ cancel: true });
    });
    const result = await ota({ file: FILE });
    await expect(cancelAnswer).rejects.toThrow(
      `device "board": the upload of "${FILE}" is complete; marking it for test and resetting are under way`,
    );
    expect(result).toMatchObject({ tested: true, reset: true });
    expect(device.testHash?.toString('hex')).toBe(imageHashOf(image).toString('hex'));
    expect(device.resets).toBe(1);
    expect(ctx.of('telemetry').at(-1)).toMatchObject({ values: { update: { state: 'idle' } } });
  });

  it('honours a cancel that comes while a lost last answer is checked in the image state', async () => {
    let cancelAnswer: Promise<unknown> | undefined;
    const isStateRead = (m: SmpMessage) => m.header.group === 1 && m.header.id === 0 && m.header.op === 0;
    const { device, ctx, ota } = connect({ loseLastChunkAnswerOnce: true }, (msg) => {
      if (isStateRead(msg) && device.uploadRequests().length > 0) cancelAnswer ??= ota({ cancel: true });
    });
    await expect(ota({ file: FILE })).rejects.toThrow(`device "board": firmware upload cancelled at offset`);
    await expect(cancelAnswer).resolves.toMatchObject({ cancelled: true });
    expect(device.testHash).toBeUndefined();
    expect(device.resets).toBe(0);
    expect(ctx.of('telemetry').at(-1)).toMatchObject({ values: { update: { state: 'failed' } } });
  });

  it('logs when an update starts and ends, with the file, version, size, time and what followed', async () => {
    const { ota, logs } = connect();
    await ota({ file: FILE, reset: false });
    expect(logs).toEqual([
      expect.objectContaining({
        level: INFO,
        msg: 'firmware update started',
        device: 'board',
        file: FILE,
        version: '1.4.2',
        bytes: image.length,
      }),
      expect.objectContaining({
        level: INFO,
        msg: 'firmware update done',
        device: 'board',
        file: FILE,
        seconds: expect.any(Number),
        tested: true,
        reset: false,
      }),
    ]);
  });

  it('logs a warning with the offset and the reason when an update fails or is cancelled', async () => {
    const { ota, logs } = connect({ failAt: { offset: 1000, rc: 6 } });
    const err = await ota({ file: FILE }).then(
      () => undefined,
      (e: unknown) => e as Error & { data: { offset: number } },
    );
    expect(err?.data.offset).toBeGreaterThan(0);
    expect(logs.at(-1)).toEqual(
      expect.objectContaining({
        level: WARN,
        msg: 'firmware update failed',
        device: 'board',
        file: FILE,
        offset: err?.data.offset,
        reason: err?.message,
      }),
    );

    let cancelAnswer: Promise<unknown> | undefined;
    const cancelling = connect({}, (msg) => {
      if (msg.header.group === 1 && msg.header.id === 1) cancelAnswer ??= cancelling.ota({ cancel: true });
    });
    await expect(cancelling.ota({ file: FILE })).rejects.toThrow('firmware upload cancelled at offset 0');
    await expect(cancelAnswer).resolves.toMatchObject({ cancelled: true });
    expect(cancelling.logs.at(-1)).toEqual(
      expect.objectContaining({
        level: WARN,
        msg: 'firmware update cancelled',
        file: FILE,
        offset: 0,
        reason: expect.stringContaining('cancelled at offset 0'),
      }),
    );
  });

  it('names what is wrong in a request and refuses "." as no plain file name', async () => {
    const { device, ota, logs } = connect();
    await expect(ota({ file: 3 })).rejects.toThrow(
      /^invalid ota_update request: expected .* or \{"device", "cancel": true\}: "file": Invalid input: expected string/,
    );
    await expect(ota({ file: FILE, tset: true })).rejects.toThrow(/: Unrecognized key: "tset"$/);
    await expect(ota({ file: FILE, image: 'x' })).rejects.toThrow(/: "image": Invalid input: expected number/);
    await expect(ota({ cancel: false })).rejects.toThrow(/: "cancel": Invalid input: expected true$/);
    await expect(ota({ file: '.' })).rejects.toThrow(
      `"file" must be a plain file name inside ${join(dir, 'firmware')}, without "/", "\\" or ".."`,
    );
    expect(device.requests).toEqual([]);
    expect(logs).toEqual([]);
  });

  it('asks whether SMP is on in the firmware, on this UART, when the first request of an update gets no answer', async () => {
    const smp = new SmpClient({ send: () => undefined, timeoutMs: 20, retries: 1 });
    const { ctx } = loggingContext();
    await expect(runOtaRequest({ ctx, deviceId: 'board', smp }, { file: FILE })).rejects.toThrow(
      'device "board": image state read before the upload failed: SMP group 1 id 0: no response after 2 attempt(s) ' +
        "of 20 ms; is SMP (mcumgr) enabled in the device's firmware, on this UART?",
    );
  });

  it("is the request adapters route for ota_update and Zigbee2MQTT's ota_update/update and /check", () => {
    expect(
      ['ota_update', 'ota_update/update', 'ota_update/check', 'smp', 'ota_update/cancel'].map(isOtaRequestName),
    ).toEqual([true, true, true, false, false]);
  });
});

describe('ota_update without a file, and ota_update/check', () => {
  /** Images in the device's own directory, firmware/board/. */
  function putDeviceImages(files: Record<string, Buffer | string>): void {
    mkdirSync(join(dir, 'firmware', 'board'), { recursive: true });
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, 'firmware', 'board', name), bytes);
  }
  const version = (v: [number, number, number, number], seed: number) => buildImage({ body: body(seed), version: v });

  it('installs the highest version in firmware/<id>/ (compared as numbers), ignoring files that are not images', async () => {
    const newest = version([1, 10, 0, 0], 5);
    putDeviceImages({ 'a-1.9.0.bin': version([1, 9, 0, 0], 3), 'b-1.10.0.bin': newest, 'README.txt': 'notes' });
    const { device, ota } = connect();
    const result = await ota({ id: 'board' });
    expect(result).toMatchObject({ file: 'board/b-1.10.0.bin', version: '1.10.0', tested: true });
    expect(device.stored().equals(newest)).toBe(true);
  });

  it('takes no image through a link that leads out of the firmware directory, named or not', async () => {
    writeFileSync(join(dir, 'outside.bin'), version([9, 0, 0, 0], 3));
    putDeviceImages({ 'a-1.0.0.bin': version([1, 0, 0, 0], 5) });
    symlinkSync(join(dir, 'outside.bin'), join(dir, 'firmware', 'board', 'escape.bin'));
    symlinkSync(`../${FILE}`, join(dir, 'firmware', 'board', 'shared.bin')); // 1.4.2, inside firmware/
    const { device, ota } = connect();
    await expect(ota({ id: 'board', file: 'board/escape.bin' })).rejects.toThrow(
      `${join(dir, 'firmware', 'board', 'escape.bin')} is a link that leads out of ${join(dir, 'firmware')}`,
    );
    expect(device.requests).toEqual([]);
    expect(await ota({ id: 'board', reset: false })).toMatchObject({ file: 'board/shared.bin', version: '1.4.2' });
  });

  it('refuses to choose among more than 64 files rather than skip some', async () => {
    putDeviceImages(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`r${i}.bin`, version([1, 0, i, 0], 3)])));
    const { ota } = connect();
    await expect(ota({ id: 'board' })).rejects.toThrow(
      `${join(dir, 'firmware', 'board')} holds 65 files, more than 64: keep the device's releases there`,
    );
  });

  it('says where to put images when there is no file and no image for the device', async () => {
    const { ota } = connect();
    await expect(ota({ device: 'board' })).rejects.toThrow(
      `no "file" given and no MCUboot image for device "board" in ${join(dir, 'firmware', 'board')}/: put its ` +
        `images there, or name a file in ${join(dir, 'firmware')}`,
    );
  });

  it('check compares the image with the running version and reports update.state available or idle', async () => {
    putDeviceImages({ 'next.bin': version([1, 4, 2, 0], 3) });
    const { device, ctx } = connect();
    const smp = new SmpClient({
      send: (packet) => {
        const msg = decodeSmpMessage(packet);
        if (!msg.ok) throw new Error(msg.reason);
        void answerPacket(device, msg.value).then((res) => res && smp.handlePacket(res));
      },
      timeoutMs: 50,
    });
    const check = (data: Record<string, unknown>) => runOta('ota_update/check', { ctx, deviceId: 'board', smp }, data);
    expect(await check({ id: 'board' })).toEqual({
      id: 'board',
      device: 'board',
      update_available: true,
      installed_version: '1.0.0',
      latest_version: '1.4.2',
      file: 'board/next.bin',
    });
    expect(ctx.calls.at(-1)).toMatchObject({
      values: { update: { state: 'available', installed_version: '1.0.0', latest_version: '1.4.2' } },
      status: true,
    });
    // A named file that is not newer than the running one: nothing to install.
    writeFileSync(join(dir, 'firmware', 'old.bin'), version([0, 9, 0, 0], 3));
    expect(await check({ id: 'board', file: 'old.bin' })).toMatchObject({
      update_available: false,
      latest_version: '0.9.0',
    });
    expect(ctx.calls.at(-1)).toMatchObject({ values: { update: { state: 'idle' } } });
    // Nothing was uploaded.
    expect(device.uploadRequests()).toEqual([]);
  });
});
