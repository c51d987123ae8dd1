// A device's `last_seen`: written in the format api.last_seen chooses, and read back after a restart into a time
// the availability timeout can count from.
import { UNSET_CLOCK_BEFORE_MS } from '../clock-floor.js';

/** Zigbee2MQTT's `advanced.last_seen` values. */
export const LAST_SEEN_FORMATS = ['ISO_8601', 'ISO_8601_local', 'epoch', 'disable'] as const;
export type LastSeenFormat = (typeof LAST_SEEN_FORMATS)[number];

/** `now` as api.last_seen writes it (undefined with `disable`). */
export function formatLastSeen(now: Date, format: LastSeenFormat): string | number | undefined {
  switch (format) {
    case 'ISO_8601':
      return now.toISOString();
    case 'ISO_8601_local':
      return localIsoString(now);
    case 'epoch':
      return now.getTime();
    case 'disable':
      return undefined;
  }
}

/** The time a stored `last_seen` (any of the formats) stands for, or null when it is none. */
export function parseLastSeen(value: unknown): Date | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Local time with its UTC offset, to the second, as Zigbee2MQTT's ISO_8601_local: "2026-12-06T22:41:07+01:00". */
function localIsoString(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const pad = (n: number) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return `${day}T${time}${offset >= 0 ? '+' : '-'}${pad(offset / 60)}:${pad(offset % 60)}`;
}

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
