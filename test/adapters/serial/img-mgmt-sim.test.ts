// The simulated img_mgmt device answers as Zephyr's img_mgmt.c does, so that the upload tests prove something:
// optional sha, the first chunk's checks, resume by sha, forgotten upload state, and image state writes.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CborValue } from '../../../adapters/common/smp/cbor.js';
import { ImgMgmtDevice, RUNNING_HASH } from './img-mgmt-sim.js';
import { buildImage, imageHashOf } from './mcuboot-builder.js';

type Body = { [key: string]: CborValue };
const file = buildImage({ body: Uint8Array.from({ length: 500 }, (_, i) => i & 0xff) });
const sha = Uint8Array.from(createHash('sha256').update(file).digest());

function send(device: ImgMgmtDevice, id: number, op: 0 | 2, body: Body): Promise<Body | undefined> {
  const header = { op, version: 1 as const, flags: 0, length: 0, group: 1, seq: 0, id };
  return device.answer({ header, body });
}
const chunk = (device: ImgMgmtDevice, body: Body) => send(device, 1, 2, body);
const first = (data: Uint8Array, extra: Body = {}): Body => ({ off: 0, len: file.length, data, ...extra });

async function uploadAll(device: ImgMgmtDevice): Promise<void> {
  await chunk(device, first(file.subarray(0, 200), { sha }));
  await chunk(device, { off: 200, data: file.subarray(200) });
}

describe('ImgMgmtDevice', () => {
  it('takes a first chunk without sha, and refuses a sha longer than 32 bytes', async () => {
    await expect(chunk(new ImgMgmtDevice(), first(file.subarray(0, 64)))).resolves.toEqual({ rc: 0, off: 64 });
    await expect(chunk(new ImgMgmtDevice(), first(file.subarray(0, 64), { sha: new Uint8Array(33) }))).resolves.toEqual(
      { rc: 1 },
    );
  });

  it('wants the image magic and at least the 32-byte header in the first chunk', async () => {
    await expect(chunk(new ImgMgmtDevice(), first(file.subarray(0, 31)))).resolves.toEqual({ rc: 3 });
    await expect(chunk(new ImgMgmtDevice(), first(new Uint8Array(64)))).resolves.toEqual({ rc: 1 });
  });

  it('resumes an upload by its sha alone', async () => {
    const device = new ImgMgmtDevice();
    await chunk(device, first(file.subarray(0, 100), { sha }));
    await expect(chunk(device, first(file.subarray(0, 50), { sha, len: file.length + 1 }))).resolves.toEqual({
      rc: 0,
      off: 100,
    });
  });

  it('forgets the upload after the last chunk and after an error, then answers a continuation with off 0', async () => {
    const device = new ImgMgmtDevice();
    await uploadAll(device);
    expect(device.upload).toBeUndefined();
    await expect(chunk(device, { off: 200, data: file.subarray(200) })).resolves.toEqual({ rc: 0, off: 0 });
    const failing = new ImgMgmtDevice({ failAt: { offset: 100, rc: 6 } });
    await chunk(failing, first(file.subarray(0, 100), { sha }));
    await expect(chunk(failing, { off: 100, data: file.subarray(100, 200) })).resolves.toEqual({ rc: 6 });
    expect(failing.upload).toBeUndefined();
  });

  it('accepts confirm: true, and answers an unknown hash with rc 1', async () => {
    const device = new ImgMgmtDevice();
    await uploadAll(device);
    device.runningConfirmed = false;
    await expect(send(device, 0, 2, { confirm: true })).resolves.toMatchObject({
      images: [{ slot: 0, confirmed: true }, { slot: 1 }],
    });
    expect(device.runningConfirmed).toBe(true);
    await expect(send(device, 0, 2, { hash: new Uint8Array(32), confirm: false })).resolves.toEqual({ rc: 1 });
    await expect(send(device, 0, 2, { hash: RUNNING_HASH, confirm: false })).resolves.toEqual({ rc: 1 });
    await expect(send(device, 0, 2, { hash: imageHashOf(file), confirm: false })).resolves.toMatchObject({
      images: [{ slot: 0 }, { slot: 1, pending: true }],
    });
  });

  it('refuses a new upload while slot 1 is pending test', async () => {
    const device = new ImgMgmtDevice();
    await uploadAll(device);
    await send(device, 0, 2, { hash: imageHashOf(file), confirm: false });
    await expect(chunk(device, first(file.subarray(0, 64), { sha: new Uint8Array(32) }))).resolves.toEqual({ rc: 6 });
  });
});
