// Turns a last_seen read back after a restart into a time the availability timeout can count from.
import { UNSET_CLOCK_BEFORE_MS } from '../clock-floor.js';

/**
 * The performance.now() at which a device last seen at `lastSeen` was heard, or null when that last_seen cannot be
 * trusted: written before the clock was set (before the floor), or in the future (the clock is not set now, or NTP
 * stepped it back since). Such a device starts as one heard too long ago.
 */
export function heardAtFromLastSeen(lastSeen: Date | null, wallNow: number, monoNow: number): number | null {
  const seen = lastSeen?.getTime();
  if (seen === undefined || Number.isNaN(seen) || seen < UNSET_CLOCK_BEFORE_MS || seen > wallNow) return null;
  return monoNow - (wallNow - seen);
}
