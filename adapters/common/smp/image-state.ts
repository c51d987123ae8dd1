// img_mgmt image state (group 1, id 0) and OS reset (group 0, id 5): what follows an upload. Marking an image
// "test" (state write with confirm: false) makes MCUboot boot it once at the next reset; it stays only if the
// new firmware (or a later `confirm: true`) confirms it, otherwise MCUboot reverts to the previous image.
import { type CborValue, cborToJson } from './cbor.js';
import { type SmpClient, SmpClosedError, SmpTimeoutError } from './client.js';
import { SmpGroup } from './commands.js';
import { SmpOp } from './header.js';
import { SmpRcError } from './rc-error.js';

const IMAGE_STATE_ID = 0;
const RESET_ID = 5;

/** One entry of the device's `images` list; `hash` is raw bytes. */
export interface ImageSlot {
  image?: number;
  slot?: number;
  version?: string;
  hash?: Uint8Array;
  bootable?: boolean;
  pending?: boolean;
  confirmed?: boolean;
  active?: boolean;
  permanent?: boolean;
}

export async function readImageState(client: SmpClient): Promise<ImageSlot[]> {
  const res = await client.request({ op: SmpOp.read, group: SmpGroup.image, id: IMAGE_STATE_ID });
  if (res.rc !== 0) throw SmpRcError.from(res, 'image_state');
  return slotsOf(res.body);
}

/** Marks the image with this hash for a test boot (`confirm: true` would make it permanent at once). */
export async function markImageForTest(client: SmpClient, hash: Uint8Array): Promise<ImageSlot[]> {
  const res = await client.request({
    op: SmpOp.write,
    group: SmpGroup.image,
    id: IMAGE_STATE_ID,
    body: { hash: Uint8Array.from(hash), confirm: false },
  });
  if (res.rc !== 0) throw SmpRcError.from(res, 'image_state');
  return slotsOf(res.body);
}

/**
 * Resets the device; false when it was sent but not answered. Never resent: a device that reset before its answer
 * got out would be reset again while it boots the test image, and MCUboot would revert that image.
 */
export async function resetDevice(client: SmpClient): Promise<boolean> {
  try {
    const res = await client.request({ op: SmpOp.write, group: SmpGroup.os, id: RESET_ID, retries: 0 });
    if (res.rc !== 0) throw SmpRcError.from(res, 'reset');
    return true;
  } catch (err) {
    // A serial port that closes is the device rebooting (USB CDC ACM goes away with it).
    if (err instanceof SmpTimeoutError || err instanceof SmpClosedError) return false;
    throw err;
  }
}

export function findImageByHash(slots: readonly ImageSlot[], hash: Uint8Array): ImageSlot | undefined {
  return slots.find((s) => s.hash !== undefined && Buffer.from(s.hash).equals(hash));
}

/**
 * Whether a slot other than the running one lists this hash: the whole image arrived (and was checked). A device
 * that refuses image state reads cannot tell, so the answer is no.
 */
export async function holdsUploadedImage(client: SmpClient, hash: Uint8Array): Promise<boolean> {
  const slots = await readImageState(client).catch((err: unknown) => {
    if (err instanceof SmpRcError) return [];
    throw err;
  });
  const found = findImageByHash(slots, hash);
  return found !== undefined && found.active !== true;
}

/** The slots as JSON (hash as lowercase hex), for responses. */
export function slotsToJson(slots: readonly ImageSlot[]): unknown[] {
  return slots.map((s) => cborToJson(s as { [key: string]: CborValue }));
}

function slotsOf(body: { [key: string]: CborValue }): ImageSlot[] {
  const images = body.images;
  if (!Array.isArray(images)) return [];
  const slots: ImageSlot[] = [];
  for (const entry of images) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || entry instanceof Uint8Array) continue;
    const slot: ImageSlot = {};
    if (typeof entry.image === 'number') slot.image = entry.image;
    if (typeof entry.slot === 'number') slot.slot = entry.slot;
    if (typeof entry.version === 'string') slot.version = entry.version;
    if (entry.hash instanceof Uint8Array) slot.hash = entry.hash;
    for (const flag of ['bootable', 'pending', 'confirmed', 'active', 'permanent'] as const) {
      if (typeof entry[flag] === 'boolean') slot[flag] = entry[flag];
    }
    slots.push(slot);
  }
  return slots;
}
