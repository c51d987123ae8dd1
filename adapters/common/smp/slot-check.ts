// What the device's image state says about an upload before it starts: whether img_mgmt would refuse it because
// the other slot is still needed, and whether the file is the firmware already running.
import type { ImageSlot } from './image-state.js';

/**
 * Why img_mgmt would refuse an upload to this image number (img_mgmt_slot_in_use → IMG_MGMT_ERR_NO_FREE_SLOT), or
 * undefined: the other slot holds an image pending test, or the running image is not confirmed yet, so the
 * other slot holds the image MCUboot reverts to.
 */
export function slotInUseReason(slots: readonly ImageSlot[], image: number): string | undefined {
  const own = slots.filter((s) => (s.image ?? 0) === image);
  const pending = own.find((s) => s.pending === true && s.active !== true);
  const running = runningSlot(slots, image);
  const howToFree =
    'reset the device to run it, or confirm the running image with device/smp image_state write {"confirm": true}';
  if (pending) return `slot ${pending.slot ?? 1} holds an image pending test (${pending.version ?? '?'}): ${howToFree}`;
  if (running && running.confirmed === false) {
    return `slot ${running.slot ?? 0} runs a test image that is not confirmed, so the other slot is needed to revert: ${howToFree}`;
  }
  return undefined;
}

/** The slot that runs this image number. */
export function runningSlot(slots: readonly ImageSlot[], image: number): ImageSlot | undefined {
  return slots.find((s) => s.active === true && (s.image ?? 0) === image);
}

/** The running slot of this image number when it runs the image with this hash. */
export function runningSlotWithHash(
  slots: readonly ImageSlot[],
  image: number,
  hash: Uint8Array,
): ImageSlot | undefined {
  const running = runningSlot(slots, image);
  return running?.hash !== undefined && Buffer.from(running.hash).equals(hash) ? running : undefined;
}
