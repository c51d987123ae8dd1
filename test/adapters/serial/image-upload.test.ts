// img_mgmt upload over an in-process SMP client against the simulated device: chunk sizing from mcumgr_params,
// following the device's offsets (resume, a lost chunk, a lost answer to the last chunk), the slow first chunk,
// device errors and cancelling.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SmpClient } from '../../../adapters/common/smp/client.js';
import { SmpOp } from '../../../adapters/common/smp/header.js';
import {
  chunkSizeFor,
  FALLBACK_CHUNK_SIZE,
  ImageUploadError,
  uploadImage,
} from '../../../adapters/common/smp/image-upload.js';
import { decodeSmpMessage } from '../../../adapters/common/smp/packet.js';
import { SERIAL_FRAMING_OVERHEAD } from '../../../adapters/common/smp/serial-frame.js';
import { answerPacket, ImgMgmtDevice, type ImgMgmtFaults } from './img-mgmt-sim.js';
import { buildImage, imageHashOf } from './mcuboot-builder.js';

const file = buildImage({ body: Uint8Array.from({ length: 3000 }, (_, i) => (i * 13 + 5) & 0xff) });

function connect(faults: ImgMgmtFaults = {}, timeoutMs = 2000, link: { retries?: number; framing?: number } = {}) {
  const device = new ImgMgmtDevice(faults);
  const packetSizes: number[] = [];
  const client: SmpClient = new SmpClient({
    send: (packet) => {
      packetSizes.push(packet.length);
      const msg = decodeSmpMessage(packet);
      if (!msg.ok) throw new Error(msg.reason);
      void answerPacket(device, msg.value).then((res) => {
        if (res) client.handlePacket(res);
      });
    },
    timeoutMs,
    retries: link.retries ?? 0,
    framingOverhead: link.framing ?? 0,
  });
  return { device, client, packetSizes };
}

afterEach(() => {
  vi.useRealTimers();
});

async function uploadError(promise: Promise<unknown>): Promise<ImageUploadError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageUploadError);
  return err as ImageUploadError;
}

describe('uploadImage', () => {
  it('sends the file in chunks that fill but never exceed the device buffer, first chunk with len and sha', async () => {
    const { device, client, packetSizes } = connect();
    const progress: number[] = [];
    const result = await uploadImage(client, file, { onProgress: (done, total) => progress.push(done / total) });
    expect(device.stored().equals(file)).toBe(true);
    const sha = createHash('sha256').update(file).digest();
    expect(Buffer.from(result.sha).equals(sha)).toBe(true);
    expect(result).toMatchObject({ bytes: file.length, bufSize: 256 });
    expect(result.resumedFrom).toBeUndefined();

    const [first, ...rest] = device.uploadRequests().map((r) => r.body);
    expect(Object.keys(first!).sort()).toEqual(['data', 'image', 'len', 'off', 'sha', 'upgrade']);
    expect(first).toMatchObject({ image: 0, len: file.length, off: 0, upgrade: false });
    expect(Buffer.from(first!.sha as Uint8Array).equals(sha)).toBe(true);
    for (const body of rest) expect(Object.keys(body).sort()).toEqual(['data', 'off']);

    // mcumgr_params first, then the chunks; without framing (BLE) each whole packet at most buf_size, the largest
    // within 2 bytes of it.
    const chunkPackets = packetSizes.slice(1);
    expect(Math.max(...chunkPackets)).toBeLessThanOrEqual(256);
    expect(Math.max(...chunkPackets)).toBeGreaterThanOrEqual(254);
    expect(device.uploadRequests()).toHaveLength(Math.ceil(file.length / result.chunkSize));
    expect(progress.at(-1)).toBe(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it("leaves room for the serial framing (length + CRC) in the device's buffer", async () => {
    const { device, client, packetSizes } = connect({}, 2000, { framing: SERIAL_FRAMING_OVERHEAD });
    await uploadImage(client, file);
    expect(device.stored().equals(file)).toBe(true);
    // Zephyr decodes length, packet and CRC into one buf_size net_buf and drops what does not fit.
    const largest = Math.max(...packetSizes.slice(1));
    expect(largest + SERIAL_FRAMING_OVERHEAD).toBeLessThanOrEqual(device.bufSize);
    expect(largest + SERIAL_FRAMING_OVERHEAD).toBeGreaterThanOrEqual(device.bufSize - 2);
  });

  it('waits longer for the first chunk, which the device answers only after erasing the slot', async () => {
    // Times scaled down: a 40 ms per-request timeout against a 200 ms erase.
    const { device, client } = connect({ eraseMs: 200 }, 40);
    const result = await uploadImage(client, file);
    expect(device.stored().equals(file)).toBe(true);
    expect(device.uploadRequests()).toHaveLength(Math.ceil(file.length / result.chunkSize));
  });

  it('recognises a finished upload whose last answer was lost by the image hash in the image state', async () => {
    const { device, client } = connect({ loseLastChunkAnswerOnce: true }, 50, { retries: 1 });
    const progress: number[] = [];
    const result = await uploadImage(client, file, {
      imageHash: imageHashOf(file),
      onProgress: (done) => progress.push(done),
    });
    expect(device.lostAnswers).toBe(1);
    expect(device.stored().equals(file)).toBe(true);
    // The resent last chunk is answered {off: 0}; no second first chunk (which would erase the image).
    const offs = device.uploadRequests().map((r) => r.body.off as number);
    expect(offs.filter((o) => o === 0)).toHaveLength(1);
    expect(offs).toHaveLength(Math.ceil(file.length / result.chunkSize) + 1);
    expect(progress.at(-1)).toBe(file.length);
  });

  it('starts again from 0 when the device lost a finished upload it cannot show', async () => {
    const { device, client } = connect({ loseLastChunkAnswerOnce: true }, 50, { retries: 1 });
    const result = await uploadImage(client, file);
    expect(device.stored().equals(file)).toBe(true);
    const chunks = Math.ceil(file.length / result.chunkSize);
    const offs = device.uploadRequests().map((r) => r.body.off as number);
    expect(offs.filter((o) => o === 0)).toHaveLength(2);
    expect(offs).toHaveLength(2 * chunks + 1);
    expect(result.resumedFrom).toBe(0);
  });

  it(`uses ${FALLBACK_CHUNK_SIZE}-byte chunks when the device does not support mcumgr_params`, async () => {
    const { device, client } = connect({ noParams: true });
    const result = await uploadImage(client, file);
    expect(result.chunkSize).toBe(FALLBACK_CHUNK_SIZE);
    expect(result.bufSize).toBeUndefined();
    expect((device.uploadRequests()[0]!.body.data as Uint8Array).length).toBe(FALLBACK_CHUNK_SIZE);
    expect(device.stored().equals(file)).toBe(true);
  });

  it('goes back to the offset the device asks for when it lost a chunk', async () => {
    const { device, client } = connect({ rewindOnceAt: 1000 });
    const result = await uploadImage(client, file);
    expect(device.stored().equals(file)).toBe(true);
    expect(result.resumedFrom).toBeLessThan(1000);
    const offs = device.uploadRequests().map((r) => r.body.off as number);
    expect(offs.some((o, i) => i > 0 && o < offs[i - 1]!)).toBe(true);
  });

  it('resumes where an earlier upload of the same file stopped', async () => {
    const { device, client } = connect();
    const sha = createHash('sha256').update(file).digest();
    device.slot1.set(file.subarray(0, 2000));
    device.upload = { len: file.length, off: 2000, sha };
    const result = await uploadImage(client, file);
    expect(result.resumedFrom).toBe(2000);
    expect(device.stored().equals(file)).toBe(true);
    const offs = device.uploadRequests().map((r) => r.body.off);
    expect(offs[0]).toBe(0);
    expect(offs[1]).toBe(2000);
    expect(result.requests).toBe(1 + Math.ceil((file.length - 2000) / result.chunkSize));
  });

  it('stops on a non-zero rc and names the offset the device confirmed', async () => {
    const { device, client } = connect({ failAt: { offset: 1500, rc: 6 } });
    const err = await uploadError(uploadImage(client, file));
    // The refused chunk starts at the offset the device confirmed last.
    const refusedAt = device.uploadRequests().at(-1)!.body.off as number;
    expect(refusedAt).toBeGreaterThanOrEqual(1500);
    expect(err.offset).toBe(refusedAt);
    expect(device.stored()).toHaveLength(refusedAt);
    expect(err.message).toBe(
      `upload failed at offset ${err.offset} of ${file.length}: SMP group 1 id 1: rc 6 (bad state)`,
    );
  });

  it('stops when cancelled, without waiting for the chunk in flight', async () => {
    // A chunk timeout longer than the test's: only a cancel that does not wait for the answer ends in time.
    const { device, client } = connect({ holdUpload: true }, 60_000);
    const controller = new AbortController();
    const upload = uploadImage(client, file, { signal: controller.signal });
    await device.uploadChunksHandled(1);
    controller.abort(new Error('cancelled by request'));
    const err = await uploadError(upload);
    expect(err.message).toBe(`upload cancelled at offset 0 of ${file.length}`);
    expect(device.uploadRequests()).toHaveLength(1);
    device.release();
  });

  it('drops the chunk in flight at a cancel: no copy is resent and the next request is answered at once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const timeoutMs = 1000;
    const { device, client } = connect({}, timeoutMs, { retries: 2 });
    const controller = new AbortController();
    const upload = uploadImage(client, file, { signal: controller.signal });
    await device.uploadChunksHandled(1);
    device.faults.holdUpload = true;
    await device.uploadChunksHandled(2);
    controller.abort(new Error('cancelled by request'));
    expect((await uploadError(upload)).message).toMatch(/^upload cancelled at offset/);

    let answered = false;
    const params = client.request({ op: SmpOp.read, group: 0, id: 6 }).then((res) => {
      answered = true;
      return res;
    });
    await vi.advanceTimersByTimeAsync(timeoutMs - 1);
    expect(answered).toBe(true);
    await expect(params).resolves.toMatchObject({ rc: 0, attempts: 1 });
    // Well past every retry the abandoned chunk had: it went out once.
    await vi.advanceTimersByTimeAsync(10 * timeoutMs);
    expect(device.uploadRequests()).toHaveLength(2);
    device.release();
  });

  it('gives up when the device keeps asking for the same offset', async () => {
    const { device, client } = connect();
    // A device stuck at offset 0: every chunk at 0 is answered with off 0.
    device.answer = (req) => {
      device.requests.push(req);
      return Promise.resolve(req.header.group === 1 ? { rc: 0, off: 0 } : { rc: 8 });
    };
    const err = await uploadError(uploadImage(client, file));
    expect(err.message).toMatch(/device asked for offset 0 8 times without progress/);
    expect(device.uploadRequests()).toHaveLength(8);
  });
});

describe('chunkSizeFor', () => {
  it('leaves room for the header and the first chunk map, with wider integers for larger images', () => {
    expect(chunkSizeFor(256, 3000)).toBeLessThan(256 - 8 - 40);
    expect(chunkSizeFor(4096, 0x20000)).toBeLessThan(chunkSizeFor(4096, 200));
    expect(() => chunkSizeFor(40, 3000)).toThrow(/cannot hold an upload chunk/);
  });

  it('subtracts the framing overhead from the buffer', () => {
    expect(chunkSizeFor(256, 3000, 0, SERIAL_FRAMING_OVERHEAD)).toBe(chunkSizeFor(256, 3000) - 4);
  });

  it('refuses a buffer whose first chunk could not hold the 32-byte image header', () => {
    expect(chunkSizeFor(118, 3000, 0, SERIAL_FRAMING_OVERHEAD)).toBe(32);
    expect(() => chunkSizeFor(117, 3000, 0, SERIAL_FRAMING_OVERHEAD)).toThrow(
      'device buffer of 117 bytes cannot hold an upload chunk with the 32-byte image header (room for 31 data bytes)',
    );
  });
});
